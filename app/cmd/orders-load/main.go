// Command orders-load drives the orders API's create, get and list
// endpoints with concurrent clients and prints requests per second and
// p50/p99 latency, so later changes can be compared. The run is bounded by
// -duration and -max-requests; it creates its own data under a unique
// customer id.
//
//	orders-load -base-url http://127.0.0.1:8080 -concurrency 8 -duration 20s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-aks/pipeline/app/internal/loadgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "orders-load:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("orders-load", flag.ContinueOnError)
	var opts loadgen.Options
	fs.StringVar(&opts.BaseURL, "base-url", os.Getenv("BASE_URL"), "service URL (default $BASE_URL)")
	fs.IntVar(&opts.Concurrency, "concurrency", 8, "concurrent clients (1-256)")
	fs.DurationVar(&opts.Duration, "duration", 0, "stop after this long (default 10s, at most 1h)")
	fs.IntVar(&opts.MaxRequests, "max-requests", 100000, "stop after this many requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if opts.BaseURL == "" {
		return fmt.Errorf("-base-url (or BASE_URL) is required, for example -base-url http://127.0.0.1:8080")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Print(res)
	if res.Overall.Errors > 0 {
		return fmt.Errorf("%d of %d requests failed; first: %s: %w", res.Overall.Errors, res.Overall.Requests, res.FirstError, loadgen.ErrFailures)
	}
	return nil
}
