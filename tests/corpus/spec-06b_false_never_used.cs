metric usage
role CSM
playbook P {
  task t "T" {
    day 0
  }
}
rule ok {
  when usage < 1
  then cta risk "x"
}
 r "typo: the word rule is missing" {
  when usage < 10
  then cta risk "x"
  owner CSM
  playbook P
}
