package rehearsal

// Secrets returns the key passwords, for tests that search outputs for them.
func Secrets(r *Rehearsal) []string { return []string{r.nonProd.password, r.prod.password} }
