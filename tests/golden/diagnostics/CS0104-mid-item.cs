# The file ends in the middle of an item: the error is at the end, with what could come
# next, and names the block left open.
metric usage

rule usage_low {
  when usage < 10
  then cta risk "Usage is low"
  cooldown   ### CS0104
