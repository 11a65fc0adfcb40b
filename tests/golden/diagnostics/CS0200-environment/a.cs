metric usage

rule usage_drop {
  when usage drops 30% over 30d
  then cta risk "Usage dropped"
}

environment staging {
  rule usage_drop { enabled false }
}
