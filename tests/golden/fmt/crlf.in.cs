metric usage
rule r {
  when usage > 1  # crlf comment


  then cta risk "x"
}