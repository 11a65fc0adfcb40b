# A plan named like a playbook is one error. The plan is set aside, but its name still
# counts as declared: `then plan Kickoff` is not "unknown", and the playbook that only
# the plan applies is not "never used".
role CSM

playbook Kickoff {
  for objective
  task call "Kickoff call" { owner CSM }
}

plan Kickoff {   ### CS0200
  objective start "Started" {
    playbook Kickoff
  }
}

rule new_customer {
  when true
  then plan Kickoff
  owner CSM
}
