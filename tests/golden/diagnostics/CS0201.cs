account { renewal_date: date }

rule renewal_soon {
  when days_until(renewal_dat) == 120   ### CS0201
  then cta lifecycle "Renewal in 120 days"
}
