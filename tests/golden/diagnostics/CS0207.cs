playbook Renewal {
  task review "Review the account"
  task call "Call the customer" { after reviw }   ### CS0207
}

rule renewal {
  when true
  then cta lifecycle "Renewal"
  playbook Renewal
}
