// Command typecheck type-checks the Dagger module (and its test module)
// against the real dagger.io/dagger SDK without a Dagger engine.
//
//	cd ci && go run ./cmd/typecheck            # from the repository's ci/ directory
//	go run ./cmd/typecheck -root ..            # the directory holding dagger.json
//	go run ./cmd/typecheck -lint               # also golangci-lint the scratch copies
//
// With -lint, the repository's golangci-lint (hack/tools/go.mod) and
// .golangci.yml lint the scratch copies, so the module's main package, which
// needs the generated code to compile, is linted too.
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
}
