package env

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
)

// TestLeftoversFindsWhatRemains checks the leftover detection itself on
// things this test creates: a directory and a listening socket are reported
// while they exist, and no longer once removed.
func TestLeftoversFindsWhatRemains(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fp := Footprint{Dirs: []string{dir}, Addrs: []string{l.Addr().String()}}
	left := strings.Join(Leftovers(ctx, fp), "\n")
	for _, want := range []string{"directory " + dir, "socket listening on " + l.Addr().String()} {
		if !strings.Contains(left, want) {
			t.Errorf("Leftovers misses %q; got:\n%s", want, left)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, item := range Leftovers(ctx, fp) {
		if strings.Contains(item, dir) || strings.Contains(item, fp.Addrs[0]) {
			t.Errorf("Leftovers still reports %q after removal", item)
		}
	}
}
