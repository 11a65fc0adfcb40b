metric usage

rule usage_low {
  when usage < 10
  then cta risk "Usage is low:\tcall them"   ### CS0103
}
