account { csm_sentiment: number }

rule unhappy {
  when csm_sentimnet < 3   ### CS0210
  then cta risk "Unhappy customer"
}
