metric	usage
rule	r	{	when usage>1 and(usage<2 or usage==3)	then cta risk "x"  owner CSM or pool Support cooldown 7d}
event e {a: text b: number}
role R external