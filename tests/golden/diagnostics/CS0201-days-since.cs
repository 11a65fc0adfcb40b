event qbr_held

rule qbr_due {
  when days_since(qbr_hled) >= 90   ### CS0201
  then cta lifecycle "QBR due"
}
