# Opportunity rules: signs that an account could buy more.

# Usage growing fast on an account that already uses us seriously.
rule usage_growth "Usage up 25% in a month" {
  when usage rises 25% over 30d and avg(usage, 30d) >= 20
  then cta opportunity "Usage at {{ account.name }} is growing"
  reason "Expansion"
  owner AE or CSM
  playbook Expansion
  cooldown 90d
}

# Nearly every purchased seat in use: the next user they add needs a new license.
rule seats_near_limit "Seats nearly used up" {
  when max(usage, 7d) >= 90% * seats_purchased and phase != "onboarding"
  then cta opportunity "{{ account.name }} is close to its {{ account.seats_purchased }} seats"
  priority high
  reason "Expansion"
  owner AE or CSM or CS_Leader
  due 30d
  playbook Expansion
  cooldown 90d
}

# A promoter on an established account: the right moment to talk about expansion.
rule promoter "NPS promoter" {
  when event nps_response within 30d where score >= 9
      and segment != "SMB"
      and phase in ("adoption", "success")
  then cta opportunity "{{ account.name }} is a promoter: talk about expansion"
  reason "Advocacy"
  owner AE or CSM
  playbook Expansion
  cooldown 180d
}

# A Mid-Market account on a small contract that its users keep busy every day.
rule outgrowing_plan "Mid-Market account outgrowing its contract" {
  when segment == "Mid-Market"
      and arr < 40000
      and min(usage, 30d) >= 60
      and sum(logins, 30d) >= 1500
  then cta opportunity "{{ account.name }} may be ready for the Enterprise tier"
  reason "Upsell"
  owner AE or CSM or CS_Leader
  due 30d
}
