plan Onboarding {
  objective kickoff { task welcome "Send welcome email" }
  objective golive {
    after kickof   ### CS0208
    task launch "Launch"
  }
}

rule new_customer {
  when true
  then plan Onboarding
}
