rule ticket_storm {
  when true
  then cta risk "Many tickets"
  max 0 per run   ### CS0310 "not `0`"
}
