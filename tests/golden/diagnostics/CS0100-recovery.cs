# Errors inside declarations: each rule reports all of its own, the rest of the file
# still checks, and what a syntax error cut from a rule (its `when`) is not reported
# missing on top of it.
metric usage
role CSM

rule usage_low {
  when usage < < 10   ### CS0100 "unexpected `<`"
  then cta risk "Usage is low"
  owner CSMM   ### CS0204
}

rule usage_zero {
  when usage == 0
  then cta risk "No usage"
  due 14   ### CS0100 "unexpected `14`"
  priority hgh   ### CS0212
  owner CSM
}

rule usage_high {
  when usage > "lots"   ### CS0300
  then cta opportunity "Usage is high"
  owner CSM
}
