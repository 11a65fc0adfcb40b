rule usage_drop "Usage dropped 30%" {
  when usage drops 30% over 30d and segment == "Enterprise"
  then cta risk "Usage dropped for {{ account.name }}"
  priority high
  reason "Product usage"
  owner CSM
  due 14d calendar
  cooldown 60d
  close when usage rises 20% over 14d
  success within 60d when usage rises 10% over 30d
  description "Watch the \"big\" accounts\n closely"
}

rule renewal_120 {
  when days_until(renewal_date) == 120
  then cta lifecycle "Renewal in 120 days"
  then cta activity "Prepare the renewal deck"
  owner AE or CSM
  enabled false
}

rule new_customer { when event contract_signed within 1d then plan Onboarding owner CSM at most 1 every 365d }

pool   Strategic   "Strategic accounts team"

rule strategic "Strategic accounts" {
  when is_strategic
  then cta opportunity "Expand {{ account.name }}"
  owner pool Strategic
  enabled true
  due 4w   business
  max   50 per
    run  # a cap for the team
  reopen   while true
  at most 2 every 13w
}

plan Onboarding {
  type onboarding
}
