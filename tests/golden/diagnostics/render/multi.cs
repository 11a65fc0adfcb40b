# A small spec with several problems, rendered in every format.
account { segment: enum("SMB", "Enterprise")  arr: number }
metric usage
role CSM

rule usage_drop {
  when usage drops 30% over 30d and segment == "Enterprize"
  then cta risk "Usage dropped for {{ account.nme }}"
  owner CMS
}
