metric usage

rule usage_drop {
  when usage drops 30% over 30d
  then cta risk "Usage dropped"
}

environment staging {
  rule usage_drop { enabled false }
  environment qa {   ### CS0705 "environment `qa` is declared inside environment `staging`"
    rule usage_drop { when usage drops 50% over 30d }
  }
}
