metric usage missing none   ### CS0100 "unexpected `none`"
metric logins missing -1   ### CS0100 "unexpected `-`"

rule usage_low {
  when usage < 10 and logins < 1
  then cta risk "Usage is low"
}
