package vulngate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const stream = `{"config":{"scanner_name":"govulncheck"}}
{"osv":{"id":"GO-1","summary":"called one"}}
{"osv":{"id":"GO-2","summary":"imported only"}}
{"finding":{"osv":"GO-1","fixed_version":"v1.2.0","trace":[{"module":"example.com/a","version":"v1.1.0","package":"example.com/a","function":"F"},{"module":"m","package":"m/p","function":"main"}]}}
{"finding":{"osv":"GO-2","trace":[{"module":"example.com/b","version":"v0.1.0","package":"example.com/b"}]}}
`

func TestGate(t *testing.T) {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		allow       string
		wantRefused []string
		wantOut     string
	}{
		{"nothing accepted", "", []string{"GO-1"}, "NOT ACCEPTED"},
		{"accepted", "GO-1 2026-12-31 keys only\n", nil, "accepted until 2026-12-31: keys only"},
		{"expired", "# old\nGO-1 2026-01-01 keys only\n", []string{"GO-1"}, "acceptance expired 2026-01-01"},
		{"stale entry", "GO-1 2026-12-31 r\nGO-9 2026-12-31 gone\n", nil, "GO-9 is in the allow file but no longer found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := called(strings.NewReader(stream))
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found["GO-1"].summary != "called one" {
				t.Fatalf("called() = %+v, want only GO-1 (GO-2 is not called)", found)
			}
			allow, err := parseAllow(strings.NewReader(tt.allow))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			refused := gate(&out, found, allow, day)
			if strings.Join(refused, ",") != strings.Join(tt.wantRefused, ",") {
				t.Errorf("refused = %v, want %v", refused, tt.wantRefused)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("report lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}

func TestParseAllowRejectsBadLines(t *testing.T) {
	for _, line := range []string{"GO-1 2026-12-31", "GO-1 31.12.2026 reason"} {
		if _, err := parseAllow(strings.NewReader(line)); err == nil {
			t.Errorf("parseAllow(%q) accepted a malformed line", line)
		}
	}
}

func TestCheck(t *testing.T) {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	allow := filepath.Join(t.TempDir(), "allow.txt")
	if err := os.WriteFile(allow, []byte("GO-1 2026-12-31 keys only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Check(&out, strings.NewReader(stream), allow, day); err != nil {
		t.Fatalf("Check with GO-1 accepted: %v\n%s", err, out.String())
	}
	err := Check(&out, strings.NewReader(stream), "", day)
	var refused *RefusedError
	if !errors.As(err, &refused) || strings.Join(refused.IDs, ",") != "GO-1" || !strings.Contains(err.Error(), "vuln.allow") {
		t.Fatalf("Check without an allow-list: error = %v, want a *RefusedError for GO-1 naming vuln.allow", err)
	}
	if err := Check(&out, strings.NewReader(stream), filepath.Join(t.TempDir(), "missing.txt"), day); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check with a missing allow-list: error = %v, want os.ErrNotExist", err)
	}
}
