// Package acceptance holds the orders service's black-box acceptance tests
// (build tag acceptance). They speak HTTP to BASE_URL only, create their own
// data with unique customer ids and never assume the database is empty, so
// they are safe to run against a shared staging deployment. With BASE_URL
// unset, the suite starts a throwaway PostgreSQL (or uses TEST_DB_*) and the
// orders binary itself.
package acceptance
