account {
  name: text
  segment: enum("SMB" "Enterprise")
  arr: number
}
metric usage
rule r {
  when usage < 1 and segment == "SMB" and arr > 10
  then cta risk "x {{ account.segment }}"
}
