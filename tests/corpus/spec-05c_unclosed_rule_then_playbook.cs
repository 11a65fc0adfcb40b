metric usage
role CSM
rule r {
  when usage < 10
  then cta risk "x"
  owner CSM
  playbook P

playbook P {
  task t "T" {
    day 0
  }
}
