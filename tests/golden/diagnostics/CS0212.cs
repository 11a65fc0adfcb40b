rule check_in {
  when true
  then cta riks "Check in"   ### CS0212
  priority urgent            ### CS0212
}
