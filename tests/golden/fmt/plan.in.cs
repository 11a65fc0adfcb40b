playbook TechnicalSetup {
  task setup_done "Technical set-up done" { duration 1w owner CSM }
}
plan Onboarding "Customer onboarding" {
  type onboarding
  due 90d
  description "From signature to go-live"
  calendar business
  owner CSM
  objective kickoff "Kickoff complete" {
    category adoption
    success "All main users trained"
    owner CSM
    priority high
    description "The first weeks"
    task handoff "Sales hand-off complete" { owner AE  duration 2d }
    task welcome "Send welcome email" { owner CSM  after handoff }
    task training "Train the main users" { owner CSM  duration 5d  after welcome }
  }
  objective golive "Go live" {
    after kickoff
    playbook TechnicalSetup
    task launch "Launch" { after setup_done, kickoff.training  owner Champion }
  }
}
