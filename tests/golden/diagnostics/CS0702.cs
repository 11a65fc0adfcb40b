metric usage

rule usage_low {   ### CS0702
  when usage < 10
}
