account { name: text  arr: number }

playbook Sizes {
  task a "{{ account.name|truncate(50) }} {{ account.name|wordwrap(80) }}"
  task b "{{ account.name|indent(account.arr) }}"   ### CS0502 "width of `indent`"
  task c "{{ account.name|wordwrap(1000000) }}"   ### CS0502 "`1000000`"
  task d "{{ account.name|list|batch(5000)|list }}"   ### CS0502 "count of `batch`"
  task e "{{ account.name|join(account.name) }}"   ### CS0502 "separator of `join`"
  task f "{{ account.name|map('center', 99999)|join }}"   ### CS0502 "width of `center`"
}

rule sizes {
  when true
  then cta risk "{{ account.name.ljust(account.arr) }}"   ### CS0502 "`.ljust()`"
  playbook Sizes
}

rule methods {
  when true
  then cta risk "{{ account.name.upper() }} {{ account.name.translate({}) }}"   ### CS0502 "`.translate()`"
}
