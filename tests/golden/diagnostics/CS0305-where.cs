metric usage
event nps_response { score: number }

rule detractor {
  when event nps_response within 90d where score   ### CS0305
    or (usage and true)                            ### CS0305 "`and` needs true or false"
  then cta risk "Detractor"
}
