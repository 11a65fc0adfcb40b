metric usage
metric day   ### CS0100 "reserved word"

rule usage_low {
  when usage < 10
  then cta risk risk "Usage is low"   ### CS0100 "unexpected `risk`"
}
