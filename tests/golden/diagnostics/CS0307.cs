metric usage

rule usage_low {
  when avg(usage) < 10   ### CS0307
  then cta risk "Usage is low"
}
