package releasetest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// The cosign CLI the tests verify with and the cosign library the code
// signs and verifies with are one pinned version.
func TestCosignPinnedOnce(t *testing.T) {
	root, err := toolbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*github\.com/sigstore/cosign/v2 (v\S+)`)
	version := func(path string) string {
		data, err := os.ReadFile(path) //nolint:gosec // our own go.mod files
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s does not require github.com/sigstore/cosign/v2", path)
		}
		return string(m[1])
	}
	lib, cli := version(filepath.Join(root, "go.mod")), version(filepath.Join(root, "hack", "cosign", "go.mod"))
	if lib != cli {
		t.Fatalf("cosign library %s (go.mod) and CLI %s (hack/cosign/go.mod) differ: pin them to one version", lib, cli)
	}
}
