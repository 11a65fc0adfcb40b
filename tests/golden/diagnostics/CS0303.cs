metric logins

rule logged_in {
  when event logins within 7d   ### CS0303
  then cta activity "Logged in"
}
