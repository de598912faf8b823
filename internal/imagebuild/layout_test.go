package imagebuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAndReadLayout(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "orders", "binary")
	idx, err := Index(t.Context(), []Binary{{Platform: plat("linux/amd64"), Path: bin}}, Options{Created: created})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "layout")
	if err := WriteLayout(out, idx, "rev1"); err != nil {
		t.Fatal(err)
	}
	back, err := ReadLayout(out)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustDigest(t, idx), mustDigest(t, back); a != b {
		t.Fatalf("read back %s, wrote %s", b, a)
	}
	// No temporary directories left next to it.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s behind", e.Name())
		}
	}

	tests := []struct {
		name    string
		prepare func() string
		wantErr string
	}{
		{"non-empty out", func() string { return out }, "not empty"},
		{"empty out is fine", func() string {
			d := filepath.Join(dir, "empty")
			if err := os.Mkdir(d, 0o750); err != nil {
				t.Fatal(err)
			}
			return d
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteLayout(tt.prepare(), idx, "")
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ReadLayout(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Fatalf("ReadLayout of a missing directory: %v", err)
	}
}
