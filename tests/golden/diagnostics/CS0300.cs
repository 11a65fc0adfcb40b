account { arr: number  renewal_date: date }

rule big_account {
  when arr > "high"   ### CS0300
  then cta opportunity "Big account"
}

rule renewal {
  when renewal_date > 3   ### CS0300
  then cta lifecycle "Renewal"
}
