playbook UsageDrop {
  for risk
  task call "Call the customer"
}

rule upsell {
  when true
  then cta opportunity "Upsell"
  playbook UsageDrop   ### CS0401
}
