account {
  name: text
  arr: integer   ### CS0211
}
