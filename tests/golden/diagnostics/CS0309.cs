role CSM

playbook Later {
  for risk
  task call "Call the customer" {
    day 99999   ### CS0309
    owner CSM
  }
}

rule someday {
  when true
  then cta risk "Someday"
  playbook Later
}
