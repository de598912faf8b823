package postgres

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinDir(t *testing.T) {
	withBins := fakeBinDir(t)
	tests := []struct {
		name    string
		dir     string
		wantErr string
	}{
		{name: "explicit dir with binaries", dir: withBins},
		{name: "explicit dir without binaries", dir: t.TempDir(), wantErr: "Options.BinDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findBinDir(tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("findBinDir(%q) error = %v, want one containing %q", tt.dir, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.dir {
				t.Fatalf("findBinDir(%q) = %q, %v", tt.dir, got, err)
			}
		})
	}
}

func TestVersionOrdersNumerically(t *testing.T) {
	tests := []struct {
		dir  string
		want float64
	}{
		{"/usr/lib/postgresql/9.6/bin", 9.6},
		{"/usr/lib/postgresql/15/bin", 15},
		{"/usr/lib/postgresql/16/bin", 16},
		{"/usr/lib/postgresql/x/bin", -1},
	}
	for _, tt := range tests {
		if got := version(tt.dir); got != tt.want {
			t.Errorf("version(%q) = %v, want %v", tt.dir, got, tt.want)
		}
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	withBins := fakeBinDir(t)
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"listen address not an IP", Options{BinDir: withBins, ListenAddresses: []string{"localhost"}}, "ListenAddresses"},
		{"port out of range", Options{BinDir: withBins, Port: 70000}, "Options.Port"},
		{"missing binaries", Options{BinDir: t.TempDir()}, "BinDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), tt.opts)
			if err == nil {
				_ = s.Stop(context.Background())
				t.Fatal("Start succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start error = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

// fakeBinDir returns a directory holding empty files named like the
// PostgreSQL binaries the harness looks for.
func fakeBinDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
