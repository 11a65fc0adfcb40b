account { name: text }

rule check_in {
  when true
  then cta activity "Check in with {{ account.name }"   ### CS0500
}
