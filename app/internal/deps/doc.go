// Package deps holds the test that keeps the service's dependency graph
// free of the pipeline's tools: the orders service is its own Go module, and
// cosign, client-go and kustomize belong to the pipeline, not to it.
package deps
