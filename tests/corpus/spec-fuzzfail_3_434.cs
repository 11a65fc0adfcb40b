metric usage
rule r {
  	
whenthen (
usage> 1  # crlf commentthen cta risk "x"
