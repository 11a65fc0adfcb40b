account { name: text  arr: number }

rule odd {
  when name * 2 > arr   ### CS0306
  then cta risk "Odd"
}
