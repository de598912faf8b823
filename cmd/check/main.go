// Command check runs one of a Go service's checks, the single definition of
// what a check does: the Dagger module's check functions run it in their
// containers, and this repository's hack/stage.sh runs it on the machine.
//
//	check lint        --source DIR --reports DIR [--settings pipeline.yaml] [--default-lint-config FILE]
//	check vuln        --source DIR --reports DIR [--settings pipeline.yaml] [--vuln-allow FILE]
//	check unit        --source DIR --reports DIR [--settings pipeline.yaml]
//	check integration --source DIR --reports DIR [--settings pipeline.yaml]
//	check acceptance  --source DIR --reports DIR [--settings pipeline.yaml]
//
// The settings (ci/settings: module, test tags and packages, lint
// configuration, vulnerability allow-list) come from --settings, with
// --module and --vuln-allow overriding it; paths are relative to --source.
// golangci-lint, gotestsum and govulncheck run from PATH, or with
// `go tool -modfile=FILE` under --tools-modfile FILE. The command lines come
// from ci/cmdline, shared with the Dagger module.
//
// Reports: lint.xml (JUnit), lint.sarif, lint.txt; vuln.json, vuln.sarif,
// vuln.txt; NAME.xml (JUnit) and NAME.json for the test checks. The exit code
// is 1 when the check fails, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the check the arguments name and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "check:", err)
		return 2
	}
	c, err := newChecker(cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "check:", err)
		return 2
	}
	if err := c.run(ctx); err != nil {
		log.Error("check failed", "check", cfg.stage, "module", c.svc.Module, "err", err)
		return 1
	}
	log.Info("check passed", "check", cfg.stage, "module", c.svc.Module, "reports", c.reports)
	return 0
}
