# The success plan every new Mid-Market and Enterprise customer gets: three objectives
# shared with the customer, from the sales hand-off to the first proof of value.

plan Onboarding "Customer onboarding" {
  type onboarding
  due 90d
  owner CSM or CS_Leader
  description "From signature to first value for {{ account.name }} in 90 days"

  objective kickoff "Kickoff complete" {
    category adoption
    success "Hand-off done, welcome sent and the main users trained"
    owner CSM
    priority high
    task handoff "Sales hand-off complete" {
      owner AE
      duration 2d
    }
    task welcome "Send the welcome email" {
      owner CSM
      type email
      after handoff
    }
    task kickoff_call "Kickoff meeting with the customer team" {
      day 3
      owner CSM
      type meeting
      after welcome
    }
    task training "Train the main users" {
      duration 5d
      owner CSM
      type meeting
      after kickoff_call
    }
  }

  objective golive "Go live" {
    category technical
    success "Single sign-on and the data integration work in production"
    after kickoff
    playbook TechnicalSetup
    task launch "Announce the launch to the customer's users" {
      owner Champion
      type email
      after setup_done
    }
  }

  objective first_value "First value" {
    category value
    success "At least 60% of the purchased seats active every week"
    description "The outcome the customer bought us for"
    after golive
    task adoption_push "Drive adoption in the remaining teams" {
      duration 14d
      owner CSM
      description "Use the usage report to find the teams that have not started"
    }
    task usage_review "Review adoption with the champion" {
      day 50
      owner CSM
      type meeting
      after golive.launch
    }
    task signoff "Customer confirms onboarding is complete" {
      owner Champion
      type milestone
      after adoption_push, usage_review
    }
  }
}
