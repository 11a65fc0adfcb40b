# A task whose `}` is missing: the next task says where it began; the playbook's own
# `}` then closes the playbook, and the rest of the file is checked as usual.
role CSM

playbook Onboarding {
  task welcome "Send the welcome email" {   ### CS0107 "the `{` of task `welcome`"
    owner CSM
  task kickoff "Kickoff call" { day 3  owner CSM }
}

rule new_customer {
  when true
  then cta lifecycle "New customer"
  playbook Onboarding
}
