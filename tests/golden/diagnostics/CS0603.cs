holidays "DE-BY"   ### CS0603

playbook Renewal {
  task call "Call the customer" { day 5 }
}

rule renewal {
  when true
  then cta lifecycle "Renewal"
  playbook Renewal
  due 14d
}
