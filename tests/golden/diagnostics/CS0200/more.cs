metric usage "Daily active users"   ### CS0200 "metric `usage` is declared twice"
event arr                           ### CS0200 "has the same name as account field"
