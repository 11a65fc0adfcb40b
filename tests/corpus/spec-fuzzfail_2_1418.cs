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
  success within 60d when usage rises 10% over{% if %} 30d
}

# Small accounts have no dedicated CSM: the support pool runs the same playbook, and
# only for a steep drop, so the  is not flooded.
rule usage_drop_smb "Steep usage drop (SMB)" {
  whensegment == "SMB" and change(usage, 30d) <= -40%
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
  when csm_sentiment <= 3 and (arr 