account { name: text }

rule check_in {
  when true
  then cta activity "{% for part in account.name %}{{ part }}"   ### CS0500 "unexpected end of template"
}
