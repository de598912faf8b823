package toolbin

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildReportsProgress builds two tiny binaries and checks that the
// build says up front what it builds and how long a first build takes, then
// names each binary with its step (1/2, 2/2), and that a cached second call
// builds nothing and says nothing.
func TestBuildReportsProgress(t *testing.T) {
	root := t.TempDir()
	mod := filepath.Join(root, "hack", "x")
	for _, name := range []string{"alpha", "beta"} {
		if err := os.MkdirAll(filepath.Join(mod, "cmd", name), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, "cmd", name, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module x\n\ngo 1.26\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	spec := Spec{Module: "hack/x", Packages: []string{"x/cmd/alpha", "x/cmd/beta"}, FirstBuild: "about a second",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	dir := filepath.Join(root, "cache", "x-key")
	got, err := build(t.Context(), root, dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"alpha", "beta"} {
		if _, err := os.Stat(filepath.Join(got, b)); err != nil {
			t.Errorf("binary %s not built: %v", b, err)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := []string{
		`a first build takes about a second`,
		`msg="building alpha" step=1/2`,
		`msg="building beta" step=2/2`,
		`msg="test binaries built"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("build logged %d lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("log line %d = %s, want it to contain %s", i+1, lines[i], w)
		}
	}
	logs.Reset()
	if _, err := build(t.Context(), root, dir, spec); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("a cached build logged:\n%s", logs.String())
	}
}
