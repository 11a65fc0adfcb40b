event nps_response { score: number }

rule detractor {
  when event nps_response within 30d where not (score > 6)   ### CS0209
  then cta risk "Detractor"
}
