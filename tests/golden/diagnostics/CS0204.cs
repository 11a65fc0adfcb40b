role CSM   ### CS0601

rule usage_low {
  when true
  then cta risk "Check in"
  owner CMS   ### CS0204
}
