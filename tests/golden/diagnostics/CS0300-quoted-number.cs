account { arr: number  renewal_date: date }

rule big_account {
  when arr > "100k"   ### CS0300 "cannot compare `arr` (number)"
  then cta opportunity "Big account"
}

rule renewal {
  when renewal_date < "2026-12-31"   ### CS0300
  then cta lifecycle "Renewal"
}
