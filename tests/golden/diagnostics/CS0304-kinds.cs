account { arr: number  renewal_date: date }
metric usage
event ticket

rule kinds {
  when days_until(usage) > 3      ### CS0304 "is a metric"
    or days_until(arr) > 3        ### CS0304 "`arr` is a number field"
    or no arr for 30d             ### CS0304 "account field"
    or count(arr, 30d) > 1        ### CS0304 "needs an event"
    or avg(usage, 30) > 1         ### CS0304 "must be a duration"
    or days_until(ticket) > 1     ### CS0304 "is an event"
  then cta risk "Kinds"
}
