metric usageevent nps_response { score: number }

rule detractor {
  when event nps_response within 90d where score   ### CS0305
    or (usage