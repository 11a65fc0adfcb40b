# What the rules may read: the account record, two daily metrics, the events the
# product and the support desk send us, the roles of an account team and the team pools;
# and the spec-wide limit on new CTAs.

account {
  name: text
  segment: enum("SMB", "Mid-Market", "Enterprise")
  region: enum("EMEA", "NA", "APAC")
  arr: number  # annual recurring revenue, in USD
  seats_purchased: number  # licensed seats in the current contract
  start_date: date  # first day of the current contract
  renewal_date: date
  phase: enum("onboarding", "adoption", "renewal", "success")
  csm_sentiment: number  # the CSM's gut feeling, 1 (bad) to 10 (great)
  is_strategic: bool  # a logo we cannot afford to lose
}

metric usage "Daily active users"
metric logins "Logins per day"

event contract_signed "Contract signed"

event nps_response "NPS survey answer" {
  score: number  # 0-10
  comment: text
}

event support_escalation "Support ticket escalated" {
  severity: enum("sev1", "sev2", "sev3")
}

event admin_added "New admin user at the customer" {
  admin_email: text
}

event qbr_held "Quarterly business review held"

role CSM "Customer Success Manager"
role AE "Account Executive"
role CS_Leader "Head of Customer Success"
role Champion external  # our main contact at the customer

# Team pools: owners drawn round-robin from the members listed in the data's pools.csv.
pool Support "Support engineers"
pool Onboarders "Onboarding team"

# A run that would open more new CTAs than this stores nothing and fails: a guard
# against a broken data feed firing every rule at once.
limit new ctas per run 2000000
