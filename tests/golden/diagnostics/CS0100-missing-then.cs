metric usage

rule usage_low {
  when usage < 10
  cta risk "Usage is low"   ### CS0100 "unexpected `cta`"
}
