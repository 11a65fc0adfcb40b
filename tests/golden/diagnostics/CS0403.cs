playbook UsageDrop {
  calendar business
  task email "Send a check-in email" { day 1 }
  task call "Call the main contact" { day 9  after email }
}

rule usage_drop {
  when true
  then cta risk "Usage dropped"
  playbook UsageDrop
  due 7d business   ### CS0403 "before the last task of playbook `UsageDrop`"
}
