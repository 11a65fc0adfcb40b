metric usage

rule usage_drop {
  when usage drops 30% over 30d
  then cta risk "Usage dropped"
}

environment staging {
  rule usage_dorp {   ### CS0215 "overlays rule `usage_dorp`, which is not declared"
    enabled false
  }
}
