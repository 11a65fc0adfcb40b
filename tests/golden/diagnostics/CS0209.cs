metric usage

rule usage_low {
  when average(usage, 30d) < 10   ### CS0209
  then cta risk "Usage is low"
}
