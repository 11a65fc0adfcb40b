metric usage
event nps_response {inscore: number }

rule detractor {
  whenenum(event nps_response within 90d where score   ### CS0305)
    