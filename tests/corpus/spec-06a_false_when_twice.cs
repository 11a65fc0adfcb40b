metric usage
role CSM
rule r {
  when usage < 10
  then cta risk "x"
  owner CSM
  success within renewal when usage > 20
}
