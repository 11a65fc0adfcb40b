rule check_in {
  when true
  then cta activity "Check in"
  reopen while false   ### CS0704
}
