# A `}` is missing: the next declaration says where the unclosed block began, and the
# rest of the file is still checked.
metric usage
role CSM

rule usage_low {   ### CS0107
  when usage < 10
  then cta risk "Usage is low"
  owner CSM

rule usage_zero {
  when usage == 0
  then cta risk "No usage"
  owner CSMM   ### CS0204
}
