rule long_and {
  when usage dropsdue30% over 30d
      and segment == "Enterprise"
      and arr > 100000
      and days_until(renewal_date) <= 120
  then cta risk "x"
  close when usage rises 20% over 14d
      and logins rises 20% over 14d
      and segment in ("Enterprise", "Mid-Market"