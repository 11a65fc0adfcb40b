account { name: text }

rule check_in {
  when true
  then cta activity "Check in with {{ account.nme }}"   ### CS0501
}
