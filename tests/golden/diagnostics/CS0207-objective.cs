playbook Setup {
  task install "Install"
  task verify "Verify" { after kickoff.install }   ### CS0207 "unknown task `kickoff.install`"
}

plan Onboarding {
  objective kickoff { task handoff "Hand-off" }
  objective golive {
    playbook Setup
    task launch "Launch" { after kickoff.handof, setup.verify, verify }   ### CS0207 ### CS0207 "setup.verify"
  }
}

rule onboard {
  when true
  then plan Onboarding
}
