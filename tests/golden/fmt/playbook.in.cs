pool Support "Support engineers"

playbook UsageDrop "A drop in usage" {
  for risk, opportunity
  calendar business
  on   change
    append   # CTAs opened before a change get the new tasks
  description "Win the account back"
  task miss_you "Send 'Hey, we miss you!' email" {
    day 1
    owner CSM
    type email
  }
  task custom "Send a customized email from the CSM" { day 4  owner CSM  type email }
  task call "CSM calls the main contact" { day 9  owner CSM or CS_Leader  type call  after custom }
  task escalate { day 12 duration 3d after miss_you, call owner AE or CSM priority high description "Escalate to the AE" }
  task support "Ask support" { owner pool Support  type todo  priority low }
  task named { owner "jane@example.com" or "ops\"team\\lead@example.com" type meeting }
  task review
  task wrap_up "Wrap up" {}
  task milestone_done "Done" { type milestone duration 0d after wrap_up }
}

playbook Empty { on change replace }
