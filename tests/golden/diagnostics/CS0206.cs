plan Onboarding {
  objective kickoff { task welcome "Send welcome email" }
}

rule new_customer {
  when true
  then plan Onbaording   ### CS0206
}
