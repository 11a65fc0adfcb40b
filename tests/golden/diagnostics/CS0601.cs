role CSM
role Champion external   ### CS0601

rule check_in {
  when true
  then cta activity "Check in"
  owner CSM
}
