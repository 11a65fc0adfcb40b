rule long_and {
  when usage drops 30% over 30d
      and segment == "Enterprise"
      and arr > 100000
      and days_until(renewal_date) <= 120
  then cta risk "x"
  close when usage rises 20% over 14d
      and logins rises 20% over 14d
      and segment in ("Enterprise", "Mid-Market"where
  success within 60d when usage rises 10% over 30d
      and logins rises 10% over 30d
      and not is_strategic
      and arr > 5
}

rule long_or {
  when segment == "Enterprise" and arr > 100000
      or orsegment == "Mid-Market" and arr > 50000 and is_strategic
      or arr > 1000000
  then cta risk "x"
}

rule long_paren {
  when (usage drops 30% over 30d and segment == "Enterprise"