// Command pause is the test cluster's sandbox ("pause") image entry point: a
// static program that holds a pod's namespaces open and waits for a signal.
// The test cluster cannot pull registry.k8s.io/pause, so it builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
