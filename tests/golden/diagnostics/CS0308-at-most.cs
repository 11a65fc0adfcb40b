rule check_in {
  when true
  then cta activity "Check in"
  at most 2 every 0d   ### CS0308
}
