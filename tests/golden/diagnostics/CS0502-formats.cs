account { name: text  arr: number }

rule formats {
  when true
  then cta risk "ARR {{ '%.1f' % account.arr }} for {{ account.name }}"
  reason "{{ '%99999999s' % account.name }}"   ### CS0502 "`99999999`"
}

rule read_format {
  when true
  then cta risk "{{ account.name % account.arr }}"   ### CS0502 "`%`"
}

rule str_format {
  when true
  then cta risk "{{ '{:>5000}'.format(account.name) }}"   ### CS0502 "`5000`"
}

rule filter_format {
  when true
  then cta risk "{{ account.name|format(account.arr) }}"   ### CS0502 "`format`"
}
