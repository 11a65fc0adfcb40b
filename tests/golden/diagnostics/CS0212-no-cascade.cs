# An unknown CTA type is one error: the playbook's `for` is not checked against it too.
playbook Upsell {
  for opportunity
  task call "Call the sponsor"
}

rule upsell {
  when true
  then cta expansion "Upsell"   ### CS0212 "unknown CTA type `expansion`"
  playbook Upsell
}
