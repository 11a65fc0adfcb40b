environment production {
  rule usage_drop { when usage drops 20% over 30d }
  rule usage_drop { enabled false }   ### CS0200 "rule `usage_drop` is overlaid twice in environment `production`"
}

environment staging {   ### CS0200 "environment `staging` is declared twice"
  rule usage_drop { enabled true }
}
