event nps_response { score: number }

rule detractor {
  when nps_response < 7   ### CS0302
  then cta risk "Detractor"
}
