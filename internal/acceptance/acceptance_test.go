package acceptance

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFromJUnit(t *testing.T) {
	tests := []struct {
		name      string
		xml       string
		wantTests int
		wantErr   string
		failed    bool
	}{
		{"gotestsum passing", `<testsuites tests="3" failures="0" errors="0"><testsuite tests="2" failures="0" errors="0" skipped="1"></testsuite><testsuite tests="1" failures="0" errors="0"></testsuite></testsuites>`, 3, "", false},
		{"single suite", `<testsuite tests="4" failures="0" errors="0"></testsuite>`, 4, "", false},
		{"failures", `<testsuites><testsuite tests="2" failures="1" errors="0"></testsuite></testsuites>`, 2, "1 failures", true},
		{"errors", `<testsuite tests="2" failures="0" errors="2"></testsuite>`, 2, "2 errors", true},
		{"empty", `<testsuites></testsuites>`, 0, "no tests", false},
		{"not junit", `<html></html>`, 0, "root element", false},
		{"garbage", `{`, 0, "parse JUnit", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromJUnit(strings.NewReader(tt.xml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.Tests != tt.wantTests || len(s.ReportSHA256) != 64 {
					t.Fatalf("suite %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrFailed) != tt.failed {
				t.Fatalf("errors.Is(ErrFailed)=%v, want %v", errors.Is(err, ErrFailed), tt.failed)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	ok, err := New("staging", "r/x@sha256:00", &Suite{Tests: 2}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(" ", "r", nil, time.Now()); err == nil {
		t.Fatal("empty environment accepted")
	}
	failed := ok
	failed.Result = "failed"
	withFailures := ok
	withFailures.Suite = &Suite{Tests: 2, Failures: 1}
	tests := []struct {
		name string
		r    Record
		env  string
		ok   bool
	}{
		{"passed in staging", ok, "staging", true},
		{"any environment", ok, "", true},
		{"other environment", ok, "production", false},
		{"failed", failed, "staging", false},
		{"failures listed", withFailures, "staging", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.r.Accepts(tt.env); (err == nil) != tt.ok {
				t.Fatalf("Accepts: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
