# A playbook that does not parse is still known by name: the rule that applies it gets
# no "unknown playbook", and its roles no "never used", on top of the syntax error.
role CSM

playbook Escalation {
  for risk
  task call "Call the sponsor" {
    day -1   ### CS0100
    owner CSM
  }
}

rule escalated {
  when true
  then cta risk "Escalated"
  playbook Escalation
}
