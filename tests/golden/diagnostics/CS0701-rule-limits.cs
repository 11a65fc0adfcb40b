rule check_in {
  when true
  then cta activity "Check in"
  max 10 per run
  at most 2 every 90d
  reopen while true
  max 20 per run   ### CS0701 "`max` is given twice"
  at most 1 every 30d   ### CS0701 "`at most` is given twice"
  reopen while true   ### CS0701 "`reopen` is given twice"
}
