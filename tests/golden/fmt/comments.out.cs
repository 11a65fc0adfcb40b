# The file's header comment.
# Second line of the header.

# Before the rule.
rule usage_drop "Usage dropped" {  # on the header line
  # before when
  when usage drops 30% over 30d and segment == "Enterprise"  # after when
  then cta risk "Usage dropped"  # after then

  # a group of its own
  owner CSM
  # at the end of the block
}  # after the closing brace

# after the name
rule split "A title" {
  when arr > 1  # about arr
          and is_strategic  # about strategic
      # before the or
      or segment == "SMB"
  then cta risk "x"
}

metric usage  # trailing a metric
# between one-liners
metric logins

playbook P {
  task a {  # after a one-line task
    day 1
    owner CSM
  }
  task b {
    # inside b, before day
    day 2  # after day
    # at the end of b
  }
  task c {  # after the brace of c
    day 3
  }  # after c's brace
  task d {
    # only a comment in d
  }
  task e  # a task with no body
  task f {
    owner CSM or AE  # inside a property
  }
}

plan Q {
  objective o {
    # at the start of o
    task t
  }
  # end of Q
}
# at the end of the file
# second line at the end
