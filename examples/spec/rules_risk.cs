# Risk rules: signals that an account may churn or shrink at its renewal.

# Users drifting away is the earliest churn signal we have; on larger accounts the
# CSM acts on it personally.
rule usage_drop "Usage dropped 30% in a month" {
  when usage drops 30% over 30d and segment in ("Mid-Market", "Enterprise")
  then cta risk "Usage dropped for {{ account.name }}"
  priority high
  reason "Product usage"
  owner CSM or CS_Leader
  due 14d
  playbook UsageDrop
  cooldown 60d
  close when usage rises 20% over 14d
  success within 60d when usage rises 10% over 30d
}

# Small accounts have no dedicated CSM: the support pool runs the same playbook, and
# only for a steep drop, so the pool is not flooded.
rule usage_drop_smb "Steep usage drop (SMB)" {
  when segment == "SMB" and change(usage, 30d) <= -40%
  then cta risk "{{ account.name }}: usage down 40% or more in 30 days"
  reason "Product usage"
  owner pool Support
  playbook UsageDrop
  cooldown 60d
  close when avg(usage, 7d) >= avg(usage, 60d)
}

# A detractor answer is a churn signal we can still act on while it is fresh.
rule low_nps "Detractor NPS answer" {
  when event nps_response within 30d where score <= 6
  then cta risk "Low NPS from {{ account.name }}"
  priority high
  reason "NPS"
  owner CSM or CS_Leader
  playbook LowNPS
  cooldown 90d
  success within 90d when event nps_response within 90d where score >= 7
}

# Past onboarding, two weeks without a single login means nobody depends on us.
rule no_logins "No logins for 14 days" {
  when no logins for 14d and phase != "onboarding"
  then cta risk "Nobody at {{ account.name }} logged in for 14 days"
  priority high
  reason "Product usage"
  owner CSM or CS_Leader
  due 7d
  close when sum(logins, 3d) > 0
}

# Repeated escalations, or a single sev1 this week: support pain leaks into the renewal.
rule support_escalations "Support escalations" {
  when count(support_escalation, 30d) >= 3
      or event support_escalation within 7d where severity == "sev1"
  then cta risk "Support escalations at {{ account.name }}"
  priority high
  reason "Support"
  owner CSM or CS_Leader
  due 5d
  cooldown 30d
}

# The CSM's gut feeling is bad on an account big enough for the CS leader to step in.
rule negative_sentiment "Low CSM sentiment on a large account" {
  when csm_sentiment <= 3 and (arr >= 50000 or is_strategic == true)
  then cta risk "{{ account.name }}: CSM sentiment {{ account.csm_sentiment }}/10"
  reason "Sentiment"
  owner CS_Leader
  due 10d
}

# The seeds of churn are planted during onboarding: a worried CSM during onboarding
# pulls in the AE and the CS leader at once.
rule onboarding_escalation "Onboarding going badly" {
  when phase == "onboarding" and csm_sentiment <= 4
  then cta risk "Onboarding at risk: {{ account.name }}"
  priority high
  reason "Onboarding"
  owner CSM or CS_Leader
  playbook OnboardingEscalation
  cooldown 30d
}

# Close to the renewal, any bad signal is worth a conversation between AE and CSM.
rule renewal_at_risk "Renewal at risk" {
  when days_until(renewal_date) > 0
      and days_until(renewal_date) <= 60
      and (csm_sentiment < 5 or usage drops 20% over 30d or count(support_escalation, 60d) >= 2)
  then cta risk "Renewal of {{ account.name }} on {{ account.renewal_date }} at risk"
  priority high
  reason "Renewal"
  owner AE or CSM
  due 14d
}

# Customers who pay for seats nobody uses will downsize at renewal; strategic logos
# are watched by their CSM anyway.
rule seat_underuse "Most seats unused" {
  when days_since(start_date) > 90 and avg(usage, 30d) / seats_purchased < 20% and not is_strategic
  then cta risk "{{ account.name }} uses less than a fifth of its seats"
  priority low
  reason "License utilisation"
  owner CSM or CS_Leader
  cooldown 90d
}

# Experiment, switched off: too noisy next to usage_drop; kept to compare later. Should
# it be switched back on, a run that would open more than 500 of its CTAs fails and
# stores nothing.
rule login_decline "Logins halved" {
  enabled false
  when avg(logins, 7d) < avg(logins, 60d) / 2
  then cta risk "Logins at {{ account.name }} halved"
  priority low
  owner CSM
  max 500 per run
}
