metric usage
playbook P {
  task t "T" {
    day 0
  }
