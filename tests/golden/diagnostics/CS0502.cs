account { name: text }

playbook Outreach {
  task call "Call {{ account.name|center(1000000000) }}"   ### CS0502 "`center`"
}

rule renewal {
  when true
  then cta risk "Renewal for {{ account.name * 100000000 }}"   ### CS0502 "`*`"
  playbook Outreach
}

rule padding {
  when true
  then cta risk "{{ 'a' * 10**9 }}"   ### CS0502 "`*`" ### CS0502 "`**`"
}
