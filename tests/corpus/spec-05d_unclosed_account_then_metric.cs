account {
  name: text
  segment: enum("SMB", "Enterprise")

metric usage "Daily active users"
metric logins
role CSM "Customer Success Manager"
role AE

rule r {
  when usage < 1 and segment == "SMB"
  then cta risk "x"
  owner CSM or AE
}
