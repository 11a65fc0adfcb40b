playbook UsageDrop {   ### CS0600
  task call "Call the customer"
}

rule usage_low {
  when true
  then cta risk "Check in"
  playbook UsageDorp   ### CS0205
}
