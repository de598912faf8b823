package typecheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"dagger/pipeline/internal/modinfo"
)

// TestModuleDir is where the repository's Dagger test module lives, relative
// to the main module's source directory.
const TestModuleDir = "tests"

// CheckRepository type-checks the module whose dagger.json is in root and,
// when present, its test module (source/tests, depending on the main module).
// It returns the names of the modules that passed.
// lint, when given, is run in each scratch copy (see Options.Lint).
func CheckRepository(ctx context.Context, root string, lint ...string) ([]string, error) {
	cfg, err := modinfo.ReadConfig(root)
	if err != nil {
		return nil, err
	}
	if err := Check(ctx, Options{Dir: root, Lint: lint}); err != nil {
		return nil, fmt.Errorf("module %s: %w", cfg.Name, err)
	}
	checked := []string{cfg.Name}
	testsDir := filepath.Join(root, cfg.Source, TestModuleDir)
	if _, err := os.Stat(filepath.Join(testsDir, "dagger.json")); err != nil {
		return checked, nil //nolint:nilerr // no test module: nothing more to check
	}
	main, err := modinfo.Load(root)
	if err != nil {
		return checked, err
	}
	tcfg, err := modinfo.ReadConfig(testsDir)
	if err != nil {
		return checked, err
	}
	if err := Check(ctx, Options{Dir: testsDir, Deps: map[string]*modinfo.Module{cfg.Name: main}, Lint: lint}); err != nil {
		return checked, fmt.Errorf("module %s: %w", tcfg.Name, err)
	}
	return append(checked, tcfg.Name), nil
}

// TestModule runs the tests of the module whose dagger.json is in root (its
// main package's *_test.go files, which need the generated stand-ins) in a
// scratch copy with `go test args...`; mutate, when not nil, edits the copy first.
func TestModule(ctx context.Context, root string, mutate func(dir string) error, args ...string) error {
	if len(args) == 0 {
		args = []string{"-count=1", "."}
	}
	return Check(ctx, Options{Dir: root, Test: args, Mutate: mutate})
}
