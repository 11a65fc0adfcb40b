playbook UsageDrop {
  on change apend   ### CS0212 "unknown `on change` policy `apend`"
  task call "Call the main contact" { day 2 }
}

rule usage_drop {
  when true
  then cta risk "Usage dropped"
  playbook UsageDrop
  due 10d busness   ### CS0212 "unknown calendar `busness`"
}
