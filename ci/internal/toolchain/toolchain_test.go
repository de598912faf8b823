package toolchain

import (
	"strings"
	"testing"
)

func TestGoVersion(t *testing.T) {
	tests := []struct {
		name    string
		gomod   string
		want    string
		wantErr string
	}{
		{name: "toolchain wins", gomod: "module x\n\ngo 1.26.0\n\ntoolchain go1.27.3\n", want: "1.27.3"},
		{name: "go line only", gomod: "module x\n\ngo 1.26.1\n", want: "1.26.1"},
		{name: "minor only", gomod: "module x\n\ngo 1.26\n", want: "1.26"},
		{name: "release candidate", gomod: "module x\n\ngo 1.27rc1\n", want: "1.27rc1"},
		{name: "toolchain suffix", gomod: "module x\n\ngo 1.26.0\n\ntoolchain go1.27.3+auto\n", want: "1.27.3"},
		{name: "toolchain default", gomod: "module x\n\ngo 1.26.0\n\ntoolchain default\n", wantErr: "names no release"},
		{name: "no go line", gomod: "module x\n", wantErr: "neither a toolchain nor a go line"},
		{name: "garbage", gomod: "module x\n\ngo (\n", wantErr: "parse go.mod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GoVersion([]byte(tt.gomod))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("GoVersion() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GoVersion() error = %v", err)
			}
			if got != tt.want {
				t.Fatalf("GoVersion() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGoImage(t *testing.T) {
	tests := []struct {
		registry, variant, want string
	}{
		{"docker.io/library", "bookworm", "docker.io/library/golang:1.27.3-bookworm"},
		{"myacr.azurecr.io/docker.io/library/", "bookworm", "myacr.azurecr.io/docker.io/library/golang:1.27.3-bookworm"},
		{"", "bookworm", "golang:1.27.3-bookworm"},
		{"mirror.example", "", "mirror.example/golang:1.27.3"},
	}
	for _, tt := range tests {
		got, err := GoImage([]byte("module x\ngo 1.26.0\ntoolchain go1.27.3\n"), tt.registry, tt.variant)
		if err != nil {
			t.Fatalf("GoImage(%q, %q) error = %v", tt.registry, tt.variant, err)
		}
		if got != tt.want {
			t.Errorf("GoImage(%q, %q) = %q, want %q", tt.registry, tt.variant, got, tt.want)
		}
	}
}

// TestRepositoryGoMod keeps the derivation honest against the real root go.mod.
func TestRepositoryGoMod(t *testing.T) {
	data := readRootGoMod(t)
	v, err := GoVersion(data)
	if err != nil {
		t.Fatalf("root go.mod: %v", err)
	}
	if !strings.Contains(string(data), "go"+v) && !strings.Contains(string(data), "go "+v) {
		t.Fatalf("derived version %q does not appear in go.mod", v)
	}
}
