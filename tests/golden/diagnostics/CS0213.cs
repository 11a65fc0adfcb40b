pool Support "Support engineers"

rule ticket_storm {
  when true
  then cta risk "Many tickets"
  owner pool Suport   ### CS0213 "unknown pool `Suport`"
}

rule desk {
  when true
  then cta activity "Check in"
  owner pool Support
}
