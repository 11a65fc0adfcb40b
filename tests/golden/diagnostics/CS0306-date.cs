account { renewal_date: date  is_strategic: bool }

rule dates {
  when renewal_date - 30 > 2026-01-01   ### CS0306 "is a date"
    or -is_strategic == 1               ### CS0306 "cannot negate"
  then cta lifecycle "Dates"
}
