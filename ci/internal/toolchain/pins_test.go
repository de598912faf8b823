package toolchain

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// pinPatterns find a Go release written down outside go.mod. Each has one
// group: the version.
var pinPatterns = []*regexp.Regexp{
	// GOTOOLCHAIN=go1.27.3, GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}", GOTOOLCHAIN: go1.27.3
	regexp.MustCompile(`GOTOOLCHAIN[=:]\s*"?(?:\$\{GOTOOLCHAIN:-)?go(1\.[0-9]+(?:\.[0-9]+|rc[0-9]+)?)`),
	// golang:1.27.3 or golang:1.27.3-bookworm (an image tag)
	regexp.MustCompile(`golang:(1\.[0-9]+(?:\.[0-9]+|rc[0-9]+)?)`),
	// toolchain go1.27.3 (quoted in prose)
	regexp.MustCompile(`toolchain go(1\.[0-9]+(?:\.[0-9]+|rc[0-9]+)?)`),
}

// pin is one Go release found in a file.
type pin struct {
	file    string
	line    int
	version string
}

// findPins returns every Go release pinned in the files under root that
// match include, go.mod files excluded (they are the source, not copies).
func findPins(t *testing.T, root string, include func(rel string) bool) []pin {
	t.Helper()
	var pins []pin
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "out", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "go.mod" || d.Name() == "go.sum" || !include(rel) {
			return nil
		}
		data, err := os.ReadFile(path) //nolint:gosec // files of this repository
		if err != nil {
			return err
		}
		for i, text := range strings.Split(string(data), "\n") {
			for _, re := range pinPatterns {
				for _, m := range re.FindAllStringSubmatch(text, -1) {
					pins = append(pins, pin{file: rel, line: i + 1, version: m[1]})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s for Go pins: %v", root, err)
	}
	return pins
}

// pinnedFiles are the files that may carry a copy of the Go release: the
// scripts, CI definitions, the Dagger module's sources and the docs.
func pinnedFiles(rel string) bool {
	switch {
	case strings.HasPrefix(rel, "hack/") && strings.HasSuffix(rel, ".sh"),
		rel == ".ci/run",
		strings.HasSuffix(rel, ".yml"), strings.HasSuffix(rel, ".yaml"),
		strings.HasSuffix(rel, ".md"),
		strings.HasPrefix(rel, "ci/") && strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go"),
		strings.HasPrefix(rel, "ci/") && strings.HasSuffix(rel, "Dockerfile"):
		return true
	}
	return false
}

// toolchainVersion is the single source of truth: the toolchain line of the
// root go.mod (not the go line, which is the language version).
func toolchainVersion(t *testing.T, gomod []byte) string {
	t.Helper()
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		t.Fatalf("parse root go.mod: %v", err)
	}
	if f.Toolchain == nil {
		t.Fatal("root go.mod has no toolchain line; it is the one place the Go release is pinned")
	}
	v, err := GoVersion(gomod)
	if err != nil {
		t.Fatalf("root go.mod: %v", err)
	}
	return v
}

// drifted returns the pins whose version is not want, as messages naming
// the file and line.
func drifted(pins []pin, want string) []string {
	var out []string
	for _, p := range pins {
		if p.version != want {
			out = append(out, fmt.Sprintf("%s:%d: pins Go %s, go.mod's toolchain line says %s", p.file, p.line, p.version, want))
		}
	}
	return out
}

// TestPinsFollowGoMod compares every copy of the Go release in the scripts,
// CI definitions, Dagger module and docs with go.mod's toolchain line, and
// names each file that drifted.
func TestPinsFollowGoMod(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	want := toolchainVersion(t, readRootGoMod(t))
	pins := findPins(t, root, pinnedFiles)

	// The scan must see the pins that make the scripts reproducible; if one
	// is reworded so that no pattern matches, this test would compare nothing.
	for _, f := range []string{"hack/deps.sh", "hack/stage.sh", "hack/vulndb.sh"} {
		found := false
		for _, p := range pins {
			found = found || p.file == f
		}
		if !found {
			t.Errorf("%s pins no GOTOOLCHAIN the scan recognises; pin it as GOTOOLCHAIN=go%s", f, want)
		}
	}
	for _, msg := range drifted(pins, want) {
		t.Error(msg)
	}

	// The Dagger stages derive their image from the same line.
	img, err := GoImage(readRootGoMod(t), "", "bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if img != "golang:"+want+"-bookworm" {
		t.Errorf("the Dagger stages' image is %s, want golang:%s-bookworm", img, want)
	}
}

// TestPinsFollowGoModDetectsDrift proves the scan fails, naming the file,
// when a copy differs from go.mod.
func TestPinsFollowGoModDetectsDrift(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":          "module x\n\ngo 1.27\n\ntoolchain go1.27.3\n",
		"hack/a.sh":       "export GOTOOLCHAIN=go1.27.3\n",
		"hack/b.sh":       "export GOTOOLCHAIN=\"${GOTOOLCHAIN:-go1.27.2}\"\n",
		".ci/run":         "GOTOOLCHAIN=go1.26.0 bash hack/test.sh\n",
		"ci/main.go":      "const img = \"golang:1.27.1-bookworm\"\n",
		"ci/main_test.go": "const img = \"golang:1.20\"\n", // tests are not pins
		"README.md":       "built with `toolchain go1.27.3`\n",
		"ci/stage.yml":    "env:\n  GOTOOLCHAIN: go1.28.0\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := toolchainVersion(t, []byte(files["go.mod"]))
	got := drifted(findPins(t, root, pinnedFiles), want)
	wantMsgs := []string{
		"hack/b.sh:1: pins Go 1.27.2",
		".ci/run:1: pins Go 1.26.0",
		"ci/main.go:1: pins Go 1.27.1",
		"ci/stage.yml:2: pins Go 1.28.0",
	}
	if len(got) != len(wantMsgs) {
		t.Fatalf("drift found %d pins, want %d: %q", len(got), len(wantMsgs), got)
	}
	for _, w := range wantMsgs {
		ok := false
		for _, g := range got {
			ok = ok || strings.HasPrefix(g, w)
		}
		if !ok {
			t.Errorf("no drift reported as %q; got %q", w, got)
		}
	}
}
