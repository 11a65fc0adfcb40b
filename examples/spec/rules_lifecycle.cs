# Lifecycle rules: the moments of the customer journey every account goes through.

# Renewal should be a non-event: the preparation starts 120 days ahead.
rule renewal_120 "Renewal in 120 days" {
  when days_until(renewal_date) == 120
  then cta lifecycle "{{ account.name }} renews on {{ account.renewal_date }}"
  reason "Renewal"
  owner AE or CSM
  playbook Renewal120
}

# A new Mid-Market or Enterprise customer gets the full onboarding plan, and the
# CS leader a note to introduce themselves to the executive sponsor.
rule new_customer "New customer" {
  when event contract_signed within 1d and segment in ("Mid-Market", "Enterprise")
  then plan Onboarding
  then cta activity "Introduce yourself to the sponsor at {{ account.name }}"
  owner CSM or CS_Leader
}

# Small customers are onboarded by the onboarding pool with the basic checklist.
rule new_customer_smb "New SMB customer" {
  when event contract_signed within 1d and segment == "SMB"
  then cta lifecycle "Welcome {{ account.name }}"
  reason "Onboarding"
  owner pool Onboarders
  playbook BasicOnboarding
}

# Two months in and still few active users: onboarding has stalled.
rule onboarding_stalled "Onboarding stalled" {
  when phase == "onboarding"
      and days_since(start_date) > 60
      and avg(usage, 14d) < 30% * seats_purchased
  then cta lifecycle "Onboarding of {{ account.name }} is taking too long"
  reason "Onboarding"
  owner CSM or CS_Leader
  due 14d
  playbook OnboardingEscalation
  close when phase != "onboarding"
}

# Larger accounts get a business review every quarter; one that never had one is due
# three months after the start of its contract.
rule qbr_due "Quarterly business review due" {
  when segment != "SMB"
      and phase not in ("onboarding")
      and (days_since(qbr_held) >= 85 or (no qbr_held for 365d and days_since(start_date) >= 90))
  then cta lifecycle "Quarterly review due for {{ account.name }}"
  reason "QBR"
  owner CSM or CS_Leader
  due 21d
  playbook QBR
  cooldown 30d
  close when event qbr_held within 7d
}

# A new admin at the customer gets a white-glove welcome.
rule new_admin "New admin at the customer" {
  when event admin_added within 3d
  then cta activity "Welcome the new admin at {{ account.name }}"
  priority low
  owner CSM or CS_Leader
  playbook NewAdminTraining
}

# The renewal date passed and the account is still in the renewal phase: unsigned.
rule renewal_overdue "Renewal date passed" {
  when days_until(renewal_date) < 0 and days_until(renewal_date) >= -30 and phase == "renewal"
  then cta lifecycle "Renewal of {{ account.name }} is overdue since {{ account.renewal_date }}"
  priority high
  reason "Renewal"
  owner AE or CS_Leader
  due 3d
}
