package toolchain

import (
	"os"
	"path/filepath"
	"testing"
)

func readRootGoMod(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "go.mod"))
	if err != nil {
		t.Fatalf("read the repository's go.mod: %v", err)
	}
	return data
}
