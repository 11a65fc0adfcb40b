event support_ticket

rule many_tickets {
  when count(support_tickets, 30d) > 5   ### CS0203
  then cta risk "Many tickets"
}
