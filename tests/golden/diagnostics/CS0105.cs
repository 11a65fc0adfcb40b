account { renewal_date: date }

rule late_renewal {
  when renewal_date > 2026-02-30   ### CS0105
  then cta lifecycle "Renewal"
}
