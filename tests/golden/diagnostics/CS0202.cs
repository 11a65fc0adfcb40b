metric usage

rule usage_low {
  when avg(usag, 30d) < 10   ### CS0202
  then cta risk "Usage is low"
}
