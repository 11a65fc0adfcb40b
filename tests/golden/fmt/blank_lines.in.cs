


metric usage



metric logins
role CSM
rule r {

  when usage > 1


  then cta risk "a"
  then cta risk "b"

  owner CSM


}
playbook P {


  task a { day 1 }
  task b { day 2 }



  task c { day 3 }

  # group d
  task d


}



