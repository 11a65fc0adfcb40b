plan Onboarding {
  objective kickoff {
    after golive
    task handoff "Hand-off"
  }
  objective golive {
    after kickoff   ### CS0400 "plan `Onboarding`"
    task launch "Launch"
  }
}

rule onboard {
  when true
  then plan Onboarding
}
