metric	usage
accountrule	r	{	when usage>1 and(usage<2* or 