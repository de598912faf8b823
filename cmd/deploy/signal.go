package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string {
	name := map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[e.sig]
	if name == "" {
		name = e.sig.String()
	}
	return "received " + name
}

// signalContext is cancelled, with a *signalError cause, by the first
// SIGINT or SIGTERM (Azure Pipelines cancels a job with them). Later
// signals are logged and ignored: deploy is already finishing what it must
// (a due rollback, the report) within its grace period.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case s := <-ch:
				sig, _ := s.(syscall.Signal)
				if first {
					cancel(&signalError{sig})
					first = false
					continue
				}
				fmt.Fprintf(os.Stderr, "deploy: %s again; still finishing (see --interrupt-grace)\n", (&signalError{sig}).Error())
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancel(nil) }
}

// interruptedCode is the exit code of an interrupted deploy: 128 plus the
// signal's number, as shells report it (130 SIGINT, 143 SIGTERM); 130 when
// the context was cancelled otherwise.
func interruptedCode(ctx context.Context) int {
	var se *signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	return 130
}
