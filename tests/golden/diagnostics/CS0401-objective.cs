playbook UsageDrop {
  for risk
  task call "Call the customer"
}

plan Rescue {
  objective recover {
    playbook UsageDrop   ### CS0401 "not for objective CTAs"
  }
}

rule rescue {
  when true
  then plan Rescue
}
