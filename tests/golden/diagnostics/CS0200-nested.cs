account { segment: enum("SMB", "Enterprise", "SMB") }   ### CS0200 "listed twice"
event nps_response { score: number  score: number }     ### CS0200 "event field `score`"

playbook Renewal {
  task call "Call"
  task call "Call again"   ### CS0200 "task `call` is declared twice"
}

plan Onboarding {
  objective kickoff { task welcome "Welcome" }
  objective kickoff { task launch "Launch" }   ### CS0200 "objective `kickoff`"
}

rule renewal {
  when true
  then cta lifecycle "Renewal"
  then plan Onboarding
  playbook Renewal
}
