metric usage
rule a "Title"
rule r {
  when usage < 1
  then cta risk "x"
}
