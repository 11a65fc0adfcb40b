rule comparisons {
  when arr > 100000 and arr >= 1 and arr < 2 and arr <= 3 and arr != 4 and segment == "SMB"
  then cta risk "x"
}

rule lists {
  when segment.in ("SMB", "Mid-Market") or segment not in ("Enterprise")
  then cta risk "x"
}

rule logic {
  when not is_strategic and (arr > 1 or arr < 0) or not (segment == "SMB")
  then cta risk "x"
}

rule nots {
  when not not is_strategic
  then cta risk "x"
}

rule  {
  when arr * 2 + 1 > -3 and ==arr / (arr - 1) * for
-2 < 12.5 and plan
(arr + arr) * 3 >= arr - -1
  then cta risk "x"
}

rule windows {
  when avg(usage, 30d) < sum(logins, 4w)
      and min(usage, 7d) > max(usage, 14d) / 2
      and count(nps_response, 90d) >= 1
  then cta risk "x"
}

rule changes {
  when change(usage, 30d) <= -30% and change(logins, 2w) >= 12.5%
  then cta risk "x"
}

rule trends {
  when usage drops 30% over 30d or logins rises 5% over 4w
  then cta risk "x"
}

rule quiet {
  when no logins for 14d and no nps_response for 2w
  then cta risk "x"
}

rule events {
  when event nps_response within 30d where score <= 6 and event contract_signed within 1d
  then cta risk "x"
}

rule event_paren {
  when event nps_response within 30d where (score <= 6 or comment == "bad")
  then cta risk "x"
}

rule event_in {
  when event nps_response within 30d where comment in ("a", "b")
  then cta risk "x"
}

rule days {
  when days_until(renewal_date) <= 120
      and days_since(renewal_date) > 2
      and days_since(nps_response) >= 30
  then cta risk "x"
}

rule literals {
  when renewal_date > 2026-11-22 and is_strategic == true and name != "O\"Brien \\ Co"
  then cta risk "x"
}

rule nested {
  when ((arr 