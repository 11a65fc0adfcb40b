limit new ctas per run 5000
limit new ctas per run 6000   ### CS0701 "`limit new ctas per run` is given twice"
