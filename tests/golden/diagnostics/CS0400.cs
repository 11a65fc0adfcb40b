playbook Renewal {
  task review "Review the account" { after call }
  task prepare "Prepare the quote" { after review }
  task call "Call the customer" { after prepare }   ### CS0400 "cycle"
}

rule renewal {
  when true
  then cta lifecycle "Renewal"
  playbook Renewal
}
