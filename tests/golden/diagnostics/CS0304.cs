metric usage

rule usage_drop {
  when usage drops 30 over 30d   ### CS0304
  then cta risk "Usage dropped"
}
