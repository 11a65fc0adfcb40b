# A `due` in calendar days shorter than a playbook in business days is early whatever
# the day the CTA opens: N business days never take fewer than N days.
playbook UsageDrop {
  calendar business
  task call "Call the main contact" { day 9 }
}

rule usage_drop {
  when true
  then cta risk "Usage dropped"
  playbook UsageDrop
  due 7d   ### CS0403 "is due on day 7"
}

# 7 business days may be 9 days or more: not certainly early, no warning.
rule usage_low {
  when true
  then cta risk "Usage is low"
  playbook Weekly
  due 7d business
}

playbook Weekly {
  task call "Call the main contact" { day 9 }
}
