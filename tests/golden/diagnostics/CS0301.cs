account { segment: enum("SMB", "Mid-Market", "Enterprise") }

rule enterprise {
  when segment == "Enterprize"   ### CS0301
  then cta opportunity "Enterprise account"
}
