holidays "US-CAL"   ### CS0214 "unknown subdivision `CAL` of `US`"

playbook Renewal {
  calendar business
  task call "Call the customer" { day 5 }
}

rule renewal {
  when true
  then cta lifecycle "Renewal"
  playbook Renewal
}
