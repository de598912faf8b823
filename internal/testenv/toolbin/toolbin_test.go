package toolbin

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCacheKeyChangesWithInputs(t *testing.T) {
	root := t.TempDir()
	mod := filepath.Join(root, "hack", "x")
	if err := os.MkdirAll(mod, 0o750); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	base := Spec{Module: "hack/x", Packages: []string{"x/cmd/a"}}
	k1, err := cacheKey(root, base)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func() Spec
	}{
		{"ldflags", func() Spec { s := base; s.LDFlags = "-X a.b=c"; return s }},
		{"packages", func() Spec { s := base; s.Packages = []string{"x/cmd/b"}; return s }},
		{"go.sum", func() Spec { write("go.sum", "x v1 h1:abc\n"); return base }},
	}
	seen := map[string]string{k1: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := cacheKey(root, tt.mutate())
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := seen[k]; ok {
				t.Fatalf("key %s after changing %s equals key after %s", k, tt.name, prev)
			}
			seen[k] = tt.name
		})
	}
}

func TestRepoRootFindsRootModule(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "hack", "tools", "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %s, which has no hack/tools/go.mod: %v", root, err)
	}
}
