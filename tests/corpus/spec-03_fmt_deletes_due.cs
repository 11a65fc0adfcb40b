metric usage
rule a {
  when usage < 1
  then cta risk "x"
  due
rule b {
  when usage > 1
  then cta risk "y"
}
