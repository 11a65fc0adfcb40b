metric usage
playbook P {
  task t "T" {
    day 0
  }

rule r {
  when usage < 10
  then cta risk "x"
  playbook P
}
