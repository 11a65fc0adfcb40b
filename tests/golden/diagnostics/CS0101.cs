metric usage

rule usage_low {
  when usage < 10 && usage > 0   ### CS0101
  then cta risk "Usage is low"
}
