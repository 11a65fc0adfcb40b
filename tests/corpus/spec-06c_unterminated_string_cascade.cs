metric usage
role CSM
rule r {
  when usage < 1
  then cta risk "Renewal is due soon, owner is away
  owner CSM
}
