metric usage

rule usage_low {   ### CS0104 "opened at line 3 is not closed"
  when usage < 10
  then cta risk "Usage is low"
