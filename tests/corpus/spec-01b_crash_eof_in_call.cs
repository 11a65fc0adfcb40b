metric usage
rule r {
  when days_since(usage
