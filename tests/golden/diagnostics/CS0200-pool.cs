role Support
pool Desk "Support desk"
pool Desk "The desk"   ### CS0200 "pool `Desk` is declared twice"
pool Support   ### CS0200 "has the same name as role `Support`"

rule check_in {
  when true
  then cta activity "Check in"
  owner Support or pool Desk
}
