metric usage
rule r {
  when (usage > 1
