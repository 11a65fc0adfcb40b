# Playbooks: the task lists a CTA gets when a rule opens it. Day offsets count from the
# day the CTA is created.

# New customers too small for the full onboarding plan get this lighter checklist.
playbook BasicOnboarding "Basic onboarding" {
  for lifecycle
  description "The minimum every new customer gets in their first two weeks"
  task handoff "Confirm the sales hand-off is complete" {
    day 0
    owner AE or CSM
    type todo
  }
  task welcome "Send the welcome email to {{ account.name }}" {
    day 1
    owner CSM
    type email
    after handoff
  }
  task training "Schedule a training session with the main users" {
    day 3
    duration 7d
    owner CSM
    type meeting
    after welcome
  }
  task billing "Check billing and invoicing details" {
    day 2
    owner "billing@example.com"
    priority low
  }
}

# Every quarter: remind the customer of the value they get, with the people who sign.
playbook QBR "Quarterly business review" {
  for lifecycle
  calendar business
  task invite "Email the key contact to book the review" {
    day 0
    owner CSM
    type email
  }
  task tickets "Review open support tickets before the meeting" {
    day 2
    owner pool Support
    description "List every ticket older than a week and its next step"
  }
  task deck "Prepare the review deck" {
    day 3
    duration 2d
    owner CSM
  }
  task review "Hold the business review" {
    day 8
    owner CSM
    type meeting
    after deck, tickets
  }
  task recap "Send the recap email" {
    duration 1d
    owner CSM
    type email
    after review
  }
}

# A detractor answer is a churn signal we can still act on.
playbook LowNPS "Low NPS score" {
  for risk
  task reach_out "Email the detractor to learn what went wrong" {
    day 0
    owner CSM
    type email
    priority high
  }
  task follow_up "Follow-up call" {
    day 3
    owner CSM
    type call
    after reach_out
  }
  task action_plan "Write and share an action plan" {
    duration 5d
    owner CSM or CS_Leader
    type milestone
    after follow_up
  }
}

# Users are drifting away: try a light touch first, then a personal one.
playbook UsageDrop "A drop in usage" {
  for risk
  calendar business
  task miss_you "Send the 'Hey, we miss you!' email" {
    day 1
    owner CSM
    type email
  }
  task custom "Send a personal email from the CSM" {
    day 4
    owner CSM
    type email
  }
  task call "CSM calls the main contact" {
    day 9
    owner CSM or CS_Leader
    type call
    priority high
    after custom
  }
}

# Renewal should be a non-event: the work happens in the four months before it.
playbook Renewal120 "120 days to renewal" {
  for lifecycle
  task success_review "Check the customer's success to date" {
    day 0
    duration 5d
    owner CSM
  }
  task contract "Find the contract terms, the decision maker and the signatory" {
    day 0
    duration 5d
    owner AE
  }
  task ebr_prep "Prepare the executive business review" {
    day 20
    duration 5d
    owner CSM
    after success_review, contract
  }
  task ebr "Executive business review (90 days before renewal)" {
    day 30
    owner AE or CSM
    type meeting
    after ebr_prep
  }
  task sign "Renewal signed" {
    day 100
    owner AE
    type milestone
    priority high
    after ebr
  }
  task success_phase "Move the account to the success phase" {
    owner CSM
    after sign
  }
}

# Usage says they need more: bring Sales in at the right moment.
playbook Expansion "Expansion opportunity" {
  for opportunity
  task check_usage "Check usage by team and feature" {
    day 0
    owner CSM
  }
  task ae_review "Look at the usage and size the opportunity" {
    day 1
    duration 2d
    owner AE
    after check_usage
  }
  task internal "AE and CSM align on the pitch" {
    owner AE
    type meeting
    after ae_review
  }
  task value_page "Share the value page in the customer portal" {
    owner CSM
    priority low
    description "Optional: show what expanding would bring them"
    after internal
  }
  task customer_meeting "AE and CSM meet the customer" {
    day 10
    owner AE
    type meeting
    after internal
  }
  task close_deal "Close the deal" {
    duration 20d
    owner AE
    type milestone
    after customer_meeting
  }
}

# A new admin at the customer: a white-glove welcome in three emails.
playbook NewAdminTraining "Training a new admin" {
  for lifecycle, activity
  task tag "Tag the new admin in the CRM" {
    day 0
    owner pool Support
    priority low
  }
  task first_email "First email: getting started" {
    day 0
    owner CSM
    type email
    after tag
  }
  task intro "Introduce the new admin to the users they will support" {
    day 1
    owner Champion
  }
  task second_email "Second email: the admin console" {
    day 3
    owner CSM
    type email
  }
  task final_email "Final email: where to get help" {
    day 5
    owner CSM
    type email
  }
}

# The seeds of churn are planted during onboarding: escalate early.
playbook OnboardingEscalation "Onboarding escalation" {
  for risk, lifecycle
  task csm_review "CSM writes down what is blocking the onboarding" {
    day 0
    owner CSM
    priority high
  }
  task ae_review "AE checks what was promised in the sale" {
    day 0
    owner AE
  }
  task leader_review "CS leader reviews the escalation" {
    day 1
    owner CS_Leader
    after csm_review, ae_review
  }
  task book_call "Email the customer to set up a call" {
    day 1
    owner CSM
    type email
    after csm_review
  }
  task call "Escalation call with the customer" {
    day 5
    owner CSM
    type call
    after book_call
  }
  task notes "Store the meeting notes" {
    owner CSM
    after call
  }
}

# Technical onboarding; it runs inside the Onboarding plan's go-live objective.
playbook TechnicalSetup "Technical setup" {
  for objective
  task sso "Configure single sign-on" {
    day 0
    duration 3d
    owner pool Support
  }
  task integration "Connect the customer's data sources" {
    duration 5d
    owner pool Support
    after sso
  }
  task setup_done "Technical setup signed off" {
    owner CSM
    type milestone
    after integration
  }
}
