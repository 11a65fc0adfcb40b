account { arr: number }
metric usage
