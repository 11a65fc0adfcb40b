rule check_in {   ### CS0700
  then cta activity "Check in"
}
