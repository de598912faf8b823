package deploy

// Leaks is the tests' secret search (secretsearch_test.go), for the
// external test package.
var Leaks = leaks
