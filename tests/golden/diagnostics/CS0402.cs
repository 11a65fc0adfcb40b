plan Onboarding {
  due 10d   ### CS0402
  objective kickoff {
    task handoff "Sales hand-off" { duration 2d }
    task training "Train the users" { duration 5d  after handoff }
  }
  objective golive {
    after kickoff
    task launch "Launch" { duration 7d }
  }
}

rule new_customer {
  when true
  then plan Onboarding
}
