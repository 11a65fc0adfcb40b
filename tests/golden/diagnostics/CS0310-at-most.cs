rule check_in {
  when true
  then cta activity "Check in"
  at most 0 every 30d   ### CS0310 "`at most`"
}
