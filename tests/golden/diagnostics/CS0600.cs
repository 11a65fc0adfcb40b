playbook Welcome {   ### CS0600
  task call "Welcome call"
}
