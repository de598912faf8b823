// Command typecheck type-checks the Dagger module (and its test module)
// against the real dagger.io/dagger SDK without a Dagger engine.
//
//	cd ci && go run ./cmd/typecheck            # from the repository's ci/ directory
//	go run ./cmd/typecheck -root ..            # the directory holding dagger.json
//	go run ./cmd/typecheck -lint               # also golangci-lint the scratch copies
//	go run ./cmd/typecheck -test               # also run the module's wiring tests
//
// With -lint, the repository's golangci-lint (hack/tools/go.mod) and
// .golangci.yml lint the scratch copies, so the module's main package, which
// needs the generated code to compile, is linted too. With -test, the
// module's main-package tests (its wiring, against the recording engine
// stand-in internal/enginerec) run in a scratch copy the same way.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	"dagger/pipeline/internal/typecheck"
)

func main() {
	root := flag.String("root", "..", "directory holding the module's dagger.json (the repository root)")
	lint := flag.Bool("lint", false, "also run the repository's golangci-lint on the scratch copies")
	test := flag.Bool("test", false, "also run the module's main-package tests in a scratch copy")
	flag.Parse()
	var lintCmd []string
	if *lint {
		abs, err := filepath.Abs(*root)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		lintCmd = []string{"go", "tool", "-modfile=" + filepath.Join(abs, "hack", "tools", "go.mod"), "golangci-lint", "run", "--allow-parallel-runners",
			"--config", filepath.Join(abs, ".golangci.yml"), "--path-mode", "abs", "./..."}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	checked, err := typecheck.CheckRepository(ctx, *root, lintCmd...)
	for _, m := range checked {
		slog.Info("type check passed", "module", m)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *test {
		if err := typecheck.TestModule(ctx, *root, nil, "-count=1", "."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		slog.Info("module tests passed")
	}
}
