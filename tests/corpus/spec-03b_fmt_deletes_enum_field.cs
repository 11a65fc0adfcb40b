account {
  name: text
  segment: enum("SMB",
metric usage
role CSM
