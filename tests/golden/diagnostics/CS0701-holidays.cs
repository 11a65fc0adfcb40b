holidays "US"
holidays "US-CA"   ### CS0701 "`holidays` is given twice"

rule renewal {
  when true
  then cta lifecycle "Renewal"
  due 10d business
}
