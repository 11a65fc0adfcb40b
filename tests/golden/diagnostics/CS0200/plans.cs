playbook Onboarding { task welcome "Welcome call" }

plan Onboarding {   ### CS0200 "has the same name as playbook `Onboarding`"
  objective kickoff { task handoff "Sales hand-off" }
}

rule onboard {
  when true
  then cta lifecycle "Onboard"
  playbook Onboarding
}
