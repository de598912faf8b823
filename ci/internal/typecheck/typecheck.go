// Package typecheck type-checks a Dagger Go module against the real
// dagger.io/dagger SDK without a Dagger engine.
//
// `dagger develop` generates code that is git-ignored: internal/dagger (the
// typed API client), dagger.gen.go (the `dag` client, main and the dispatch to
// the module's functions) and, for modules with dependencies, bindings for the
// dependencies' functions. Check copies the module to a scratch directory and
// generates stand-ins for those files from the real SDK package: every
// exported type, constant, variable and function of dagger.io/dagger is
// aliased (the list is read from the SDK's source, nothing is written by
// hand), `dag` is a *Client, and a dispatch function calls every function of
// the module with arguments of their declared types, as the real generated
// code does. Then it runs `go build` and `go vet`. A wrong method, option
// field or argument type fails the check.
package typecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"dagger/pipeline/internal/modinfo"
)

// SDKPath is the import path of the Dagger Go SDK.
const SDKPath = "dagger.io/dagger"

// generatedPaths are the files `dagger develop` writes; copies skip them.
var generatedPaths = []string{"dagger.gen.go", "internal/dagger", "internal/querybuilder", "internal/telemetry"}

// Options configure a check.
type Options struct {
	// Dir is the directory holding the module's dagger.json.
	Dir string
	// Scratch is where the copy is made; empty means a new temporary directory, removed afterwards.
	Scratch string
	// Deps maps dependency names from dagger.json to their loaded modules, for
	// modules that call other modules (bindings are generated from them).
	Deps map[string]*modinfo.Module
	// Lint, when set, is run in the scratch copy after go vet, e.g. the
	// repository's golangci-lint (generated stand-ins are skipped by it as
	// generated code). The module's main package can be linted nowhere else.
	Lint []string
	// Test, when set, are the arguments of a `go test` run in the scratch copy
	// after go vet (e.g. -count=1 -run TestX .): the module's own tests, which
	// need the generated stand-ins to compile, run there.
	Test []string
	// Mutate, when set, edits the scratch copy (the module source at the
	// directory given) before anything is generated, e.g. to prove a test
	// fails on a deliberately wrong change.
	Mutate func(dir string) error
}

// Check type-checks the module in opts.Dir. The returned error carries the
// compiler's and vet's output with paths mapped back to the module.
func Check(ctx context.Context, opts Options) error {
	cfg, err := modinfo.ReadConfig(opts.Dir)
	if err != nil {
		return err
	}
	srcDir, err := filepath.Abs(filepath.Join(opts.Dir, cfg.Source))
	if err != nil {
		return fmt.Errorf("module source: %w", err)
	}
	mod, err := modinfo.LoadSource(srcDir, cfg.Name)
	if err != nil {
		return err
	}
	if problems := modinfo.TypeProblems(mod); len(problems) > 0 {
		return fmt.Errorf("types Dagger cannot expose:\n%s", strings.Join(problems, "\n"))
	}
	scratch := opts.Scratch
	if scratch == "" {
		scratch, err = os.MkdirTemp("", "dagger-typecheck-")
		if err != nil {
			return fmt.Errorf("create scratch directory: %w", err)
		}
		defer func() { _ = os.RemoveAll(scratch) }()
	}
	if err := copyModule(srcDir, scratch); err != nil {
		return err
	}
	if opts.Mutate != nil {
		if err := opts.Mutate(scratch); err != nil {
			return fmt.Errorf("mutate the scratch copy: %w", err)
		}
	}
	modPath, err := goModulePath(filepath.Join(scratch, "go.mod"))
	if err != nil {
		return err
	}
	sdk, err := loadSDK(ctx, scratch)
	if err != nil {
		return err
	}
	deps := map[string]*modinfo.Module{}
	for _, d := range cfg.Dependencies {
		dm, ok := opts.Deps[d.Name]
		if !ok {
			return fmt.Errorf("module %s depends on %q: pass it in Options.Deps", cfg.Name, d.Name)
		}
		deps[d.Name] = dm
	}
	client, err := generateClient(sdk, deps)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(scratch, "internal", "dagger", "dagger.gen.go"), client); err != nil {
		return err
	}
	main, err := generateMain(mod, modPath)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(scratch, "dagger.gen.go"), main); err != nil {
		return err
	}
	// `dagger develop` runs go mod tidy too: the generated code's imports are
	// added to go.mod the same way.
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "./..."}, {"vet", "./..."}} {
		if out, err := goCmd(ctx, scratch, args...); err != nil {
			out = strings.ReplaceAll(out, scratch+string(filepath.Separator), srcDir+string(filepath.Separator))
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	if len(opts.Test) > 0 {
		args := append([]string{"test"}, opts.Test...)
		if out, err := goCmd(ctx, scratch, args...); err != nil {
			out = strings.ReplaceAll(out, scratch+string(filepath.Separator), srcDir+string(filepath.Separator))
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	if len(opts.Lint) > 0 {
		cmd := exec.CommandContext(ctx, opts.Lint[0], opts.Lint[1:]...) //nolint:gosec // the caller's lint command
		cmd.Dir = scratch
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			text := strings.ReplaceAll(string(out), scratch+string(filepath.Separator), srcDir+string(filepath.Separator))
			return fmt.Errorf("%s: %w\n%s", strings.Join(opts.Lint, " "), err, text)
		}
	}
	return nil
}

// goCmd runs the go command in dir and returns its combined output.
func goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...) //nolint:gosec // fixed go subcommands
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// copyModule copies the module source to dst, leaving out generated code
// and nested modules (each is checked on its own). Both trees are opened as
// os.Root so a symbolic link cannot lead the copy outside them.
func copyModule(src, dst string) error {
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return fmt.Errorf("copy module: %w", err)
	}
	from, err := os.OpenRoot(src)
	if err != nil {
		return fmt.Errorf("copy module: %w", err)
	}
	defer func() { _ = from.Close() }()
	to, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("copy module: %w", err)
	}
	defer func() { _ = to.Close() }()
	return fs.WalkDir(from.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, g := range generatedPaths {
			if rel == g {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
		}
		if d.IsDir() {
			if rel != "." {
				if _, err := from.Stat(rel + "/go.mod"); err == nil {
					return fs.SkipDir
				}
			}
			return to.MkdirAll(rel, 0o750)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := from.ReadFile(rel)
		if err != nil {
			return fmt.Errorf("copy module: %w", err)
		}
		return to.WriteFile(rel, data, 0o600)
	})
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// goModulePath reads the module path from go.mod.
func goModulePath(gomod string) (string, error) {
	data, err := os.ReadFile(filepath.Clean(gomod))
	if err != nil {
		return "", fmt.Errorf("read the module's go.mod: %w", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`), nil
		}
	}
	return "", errors.New("go.mod has no module line")
}

// sdkPackage is the SDK package as `go list` reports it.
type sdkPackage struct {
	Dir     string
	GoFiles []string
	Module  struct{ Version string }
}

// listSDK locates the SDK package the module requires.
func listSDK(ctx context.Context, dir string) (sdkPackage, error) {
	out, err := goCmd(ctx, dir, "list", "-json", SDKPath)
	if err != nil {
		return sdkPackage{}, fmt.Errorf("locate %s (is it required in go.mod?): %w\n%s", SDKPath, err, out)
	}
	var p sdkPackage
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return sdkPackage{}, fmt.Errorf("go list %s: %w", SDKPath, err)
	}
	return p, nil
}
