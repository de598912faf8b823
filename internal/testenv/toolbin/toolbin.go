// Package toolbin builds the binaries of the test environment's real
// components (the distribution registry, etcd, the Kubernetes components)
// from the Go modules that pin them under hack/, and caches the results so
// that a second test run on the same machine does not build them again.
package toolbin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// rootModule is the module path of the repository's root go.mod.
const rootModule = "module github.com/go-aks/pipeline\n"

// Spec names binaries to build from one of the repository's tool modules.
type Spec struct {
	// Module is the tool module's directory relative to the repository root,
	// for example "hack/tools" or "hack/kube".
	Module string
	// Packages are the main packages to build, each producing a binary named
	// after the last element of its import path.
	Packages []string
	// LDFlags are passed to go build as -ldflags.
	LDFlags string
	// FirstBuild says how long building them takes when nothing is cached
	// (e.g. "about 8 minutes on 2 cores"); logged before a build starts so
	// a first run explains its wait.
	FirstBuild string
	// Logger receives the build's progress. Nil: slog.Default().
	Logger *slog.Logger
}

// progressEvery is how often a long build says it is still at work.
const progressEvery = 30 * time.Second

// RepoRoot finds the repository root by walking up from the working
// directory to the go.mod of module github.com/go-aks/pipeline.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod")) //nolint:gosec // walking up our own tree
		if err == nil && strings.HasPrefix(string(data), rootModule) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of github.com/go-aks/pipeline above the working directory")
		}
		dir = parent
	}
}

// CacheDir is where built binaries are kept: $GO_AKS_PIPELINE_CACHE when set,
// otherwise go-aks-pipeline/bin under the user cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("GO_AKS_PIPELINE_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate cache directory (set GO_AKS_PIPELINE_CACHE): %w", err)
	}
	return filepath.Join(base, "go-aks-pipeline", "bin"), nil
}

// Build returns a directory holding the binaries of spec, building them only
// when the cache has no build for the same module files, packages and flags.
// Binaries are named after the last element of each package path.
func Build(ctx context.Context, spec Spec) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	key, err := cacheKey(root, spec)
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	return build(ctx, root, filepath.Join(cache, filepath.Base(spec.Module)+"-"+key), spec)
}

// build builds spec's packages from the tool module under root into dir,
// unless dir already holds them, one package at a time so that each step
// can be reported: which binary, how many of how many, time elapsed.
func build(ctx context.Context, root, dir string, spec Spec) (string, error) {
	if complete(dir, spec.Packages) {
		return dir, nil
	}
	cache := filepath.Dir(dir)
	log := spec.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cache, 0o750); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return "", fmt.Errorf("create build directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	names := make([]string, len(spec.Packages))
	for i, p := range spec.Packages {
		names[i] = filepath.Base(p)
	}
	first := spec.FirstBuild
	if first == "" {
		first = "a while"
	}
	log.InfoContext(ctx, "building test binaries from source once; a first build takes "+first+", later runs reuse them",
		"module", spec.Module, "binaries", strings.Join(names, ","), "cache", cache)
	started := time.Now()
	for i, pkg := range spec.Packages {
		if err := buildOne(ctx, log, root, tmp, spec, pkg, fmt.Sprintf("%d/%d", i+1, len(spec.Packages)), started); err != nil {
			return "", err
		}
	}
	log.InfoContext(ctx, "test binaries built", "module", spec.Module, "binaries", len(names),
		"took", time.Since(started).Round(time.Second).String())
	if err := os.Rename(tmp, dir); err != nil {
		if complete(dir, spec.Packages) { // built concurrently by another process
			return dir, nil
		}
		return "", fmt.Errorf("store built binaries: %w", err)
	}
	return dir, nil
}

// buildOne builds pkg into out, logging when it starts and, while it runs,
// every progressEvery.
func buildOne(ctx context.Context, log *slog.Logger, root, out string, spec Spec, pkg, step string, started time.Time) error {
	name := filepath.Base(pkg)
	log.InfoContext(ctx, "building "+name, "step", step, "elapsed", time.Since(started).Round(time.Second).String())
	args := []string{"build", "-trimpath", "-o", out + string(os.PathSeparator)}
	if spec.LDFlags != "" {
		args = append(args, "-ldflags", spec.LDFlags)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...) //nolint:gosec // fixed tool, arguments from our own specs
	cmd.Dir = filepath.Join(root, spec.Module)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				log.InfoContext(ctx, "still building "+name, "step", step, "elapsed", time.Since(started).Round(time.Second).String())
			}
		}
	}()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s in %s: %w\n%s", pkg, spec.Module, err, b)
	}
	return nil
}

func complete(dir string, pkgs []string) bool {
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, filepath.Base(p))); err != nil {
			return false
		}
	}
	return true
}

// cacheKey hashes what decides the build's output: the tool module's go.mod,
// go.sum and own sources, the packages, the flags and the Go toolchain.
func cacheKey(root string, spec Spec) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n%s\n%s\n", spec.Module, spec.Packages, spec.LDFlags, os.Getenv("GOTOOLCHAIN"))
	modDir := filepath.Join(root, spec.Module)
	err := filepath.WalkDir(modDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		if name != "go.mod" && name != "go.sum" && !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := os.Open(path) //nolint:gosec // files of our own tool module
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		rel, _ := filepath.Rel(modDir, path)
		fmt.Fprintf(h, "%s\n", rel)
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash tool module %s: %w", spec.Module, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
