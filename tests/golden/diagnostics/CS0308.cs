metric usage

rule usage_low {
  when sum(usage, 0d) == 0   ### CS0308
  then cta risk "Usage is low"
}
