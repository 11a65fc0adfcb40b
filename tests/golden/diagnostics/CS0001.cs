metric usage "Déjà vu"   ### CS0001
