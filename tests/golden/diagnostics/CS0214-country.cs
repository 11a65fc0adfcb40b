# A country the `holidays` package does not know: a typo of a code that has the
# subdivision is offered first.
holidays "UX-CA"   ### CS0214 "unknown country `UX`"

rule renewal {
  when true
  then cta lifecycle "Renewal"
  due 10d business
}
