account { segment: text  arr: number }

rule enterprise {
  when segment = "Enterprise"   ### CS0101 "unexpected character `=`"
  then cta opportunity "Enterprise account"
}

rule small {
  when arr =< 1000   ### CS0101
  then cta risk "Small account"
}
