# A rule declared twice is one error: what only the second one names (its playbook,
# its owner's role) is not "never used" on top.
metric usage
role CSM
role Support_Lead

playbook UsageDrop {
  task call "Call the main contact" { owner CSM }
}

rule usage_drop {
  when usage < 10
  then cta risk "Usage is low"
  owner CSM
}

rule usage_drop {   ### CS0200
  when usage < 5
  then cta risk "Usage dropped"
  owner Support_Lead
  playbook UsageDrop
}
