account { name: text  segment: enum("SMB", "Enterprise")  arr: number }
metric usage
event nps_response { score: number }
role CSM

playbook UsageDrop {
  task call "Call the customer" { day 2  owner CSM }
}

rule usage_drop {
  when usage drops 30% over 30d
  then cta risk "Usage dropped for {{ account.name }}"
  owner CSM
  playbook UsageDrop
}
