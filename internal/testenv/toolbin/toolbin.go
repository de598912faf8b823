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
}

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
	dir := filepath.Join(cache, filepath.Base(spec.Module)+"-"+key)
	if complete(dir, spec.Packages) {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o750); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return "", fmt.Errorf("create build directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	slog.InfoContext(ctx, "building test binaries (cached afterwards)", "module", spec.Module, "packages", spec.Packages)
	args := []string{"build", "-trimpath", "-o", tmp + string(os.PathSeparator)}
	if spec.LDFlags != "" {
		args = append(args, "-ldflags", spec.LDFlags)
	}
	args = append(args, spec.Packages...)
	cmd := exec.CommandContext(ctx, "go", args...) //nolint:gosec // fixed tool, arguments from our own specs
	cmd.Dir = filepath.Join(root, spec.Module)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %v in %s: %w\n%s", spec.Packages, spec.Module, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if complete(dir, spec.Packages) { // built concurrently by another process
			return dir, nil
		}
		return "", fmt.Errorf("store built binaries: %w", err)
	}
	return dir, nil
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
