metric usage
playbook P {
  task t "T"
}
  playbook P
rule r {
  when usage < 1
  then cta risk "x"
  playbook P
}
