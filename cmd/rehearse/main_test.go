package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/go-aks/pipeline/internal/rehearsal"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantErr   string
		fault     rehearsal.Fault
		platforms string
	}{
		{name: "defaults", platforms: "linux/amd64,linux/arm64"},
		{name: "fault", args: []string{"-fault", "production-crash"}, fault: rehearsal.FaultProductionCrash, platforms: "linux/amd64,linux/arm64"},
		{name: "one platform", args: []string{"-platforms", " linux/amd64 ,"}, platforms: "linux/amd64"},
		{name: "unknown fault", args: []string{"-fault", "boom"}, wantErr: "-fault"},
		{name: "bad timeout", args: []string{"-timeout", "0s"}, wantErr: "-timeout"},
		{name: "argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.fault != tc.fault || strings.Join(cfg.platforms, ",") != tc.platforms {
				t.Errorf("fault %q platforms %v, want %q %s", cfg.fault, cfg.platforms, tc.fault, tc.platforms)
			}
		})
	}
}

func TestRunRejectsBadFlagsBeforeStartingAnything(t *testing.T) {
	var stderr strings.Builder
	if code := run(context.Background(), []string{"-fault", "boom"}, io.Discard, &stderr); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "-fault") {
		t.Errorf("stderr %q does not name the flag", stderr.String())
	}
}
