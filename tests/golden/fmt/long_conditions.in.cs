rule long_and {
  when usage drops 30% over 30d and segment == "Enterprise" and arr > 100000 and days_until(renewal_date) <= 120
  then cta risk "x"
  close when usage rises 20% over 14d and logins rises 20% over 14d and segment in ("Enterprise", "Mid-Market")
  success within 60d when usage rises 10% over 30d and logins rises 10% over 30d and not is_strategic and arr > 5
}

rule long_or {
  when segment == "Enterprise" and arr > 100000 or segment == "Mid-Market" and arr > 50000 and is_strategic or arr > 1000000
  then cta risk "x"
}

rule long_paren {
  when (usage drops 30% over 30d and segment == "Enterprise" and arr > 100000 and days_until(renewal_date) <= 120)
  then cta risk "x"
}

rule already_broken {
  when usage drops 30% over 30d
    and segment == "Enterprise"
  then cta risk "x"
}

rule exactly_100 {
  when arr > 1 and arr > 2 and arr > 3 and arr > 4 and arr > 5 and arr > 6 and arr > 7 and arr > 800
  then cta risk "x"
}

rule just_over {
  when arr > 1 and arr > 2 and arr > 3 and arr > 4 and arr > 5 and arr > 6 and arr > 7 and arr > 8000
  then cta risk "x"
}

rule nested_long {
  when segment == "Enterprise" and arr > 100000 and days_until(renewal_date) <= 120 and usage drops 30% over 30d or no logins for 30d
  then cta risk "x"
}
