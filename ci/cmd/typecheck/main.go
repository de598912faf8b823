// Command typecheck type-checks the Dagger module (and its test module)
// against the real dagger.io/dagger SDK without a Dagger engine.
//
//	cd ci && go run ./cmd/typecheck            # from the repository's ci/ directory
//	go run ./cmd/typecheck -root ..            # the directory holding dagger.json
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"dagger/pipeline/internal/typecheck"
)

func main() {
	root := flag.String("root", "..", "directory holding the module's dagger.json (the repository root)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	checked, err := typecheck.CheckRepository(ctx, *root)
	for _, m := range checked {
		slog.Info("type check passed", "module", m)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
