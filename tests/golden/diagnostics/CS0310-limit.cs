limit new ctas per run 2.5   ### CS0310 "not `2.5`"
limit open ctas per owner 0   ### CS0310 "`limit open ctas per owner`"
