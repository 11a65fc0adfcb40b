metric usage

rule usage_rule {
  when avg(usage, 30d)   ### CS0305
  then cta risk "Usage"
}
