pool Support "Support engineers"
pool Onboarders   ### CS0602 "pool `Onboarders` is never used"

rule check_in {
  when true
  then cta activity "Check in"
  owner pool Support
}
