account { name: text
  segment  :  enum( "SMB","Mid-Market" , "Enterprise", )
  arr: number     renewal_date: date
  phase: enum("onboarding", "adoption", "renewal")
  csm_sentiment: number
  is_strategic: bool }
metric usage "Daily active users"
metric logins
metric   seats   missing   0
metric tickets "Tickets opened" missing 0.5


event nps_response { score: number   comment: text }
event contract_signed
event ticket_opened "A support ticket" {}
event meeting_held {
}
role CSM "Customer Success Manager"
role AE "Account Executive"
role CS_Leader
role Champion   external
role Sponsor "Executive sponsor" external
pool Support   "Support engineers"
pool   Onboarders
limit new ctas per run 5000
limit  open ctas  per owner
  20   # per CSM
holidays   "US-CA"   # business days skip California's holidays
