rule check_in {
  when true
  then cta activity "Check in"
  priority high
  priority low   ### CS0701
}
