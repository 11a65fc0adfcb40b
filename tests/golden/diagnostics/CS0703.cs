playbook Welcome { task call "Welcome call" }
plan Onboarding { objective kickoff { task welcome "Send welcome email" } }

rule new_customer {
  when true
  then plan Onboarding
  playbook Welcome   ### CS0703
}
