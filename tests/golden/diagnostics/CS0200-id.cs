account { id: text  arr: number }   ### CS0200 "`id` is the account's key"

rule big {
  when arr > 1
  then cta risk "Big: {{ account.id }}"
}
