package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestCanaryFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr string
	}{
		{[]string{"--strategy", "blue-green"}, `--strategy "blue-green" is not rolling or canary`},
		{[]string{"--canary-replicas", "0"}, "--canary-replicas must be between 1 and 100"},
		{[]string{"--canary-window", "0s"}, "--canary-window must be positive"},
		{[]string{"--canary-interval", "5m"}, "--canary-interval must be positive and at most --canary-window (2m0s)"},
		{[]string{"--canary-max-error-ratio", "1.5"}, "--canary-max-error-ratio must be between 0 and 1"},
		{[]string{"--canary-max-p99-ratio", "0.5"}, "--canary-max-p99-ratio must be at least 1"},
		{[]string{"--canary-latency-floor", "-1s"}, "--canary-latency-floor must not be negative"},
		{[]string{"--canary-min-requests", "0"}, "--canary-min-requests must be at least 1"},
		{[]string{"--prometheus-token-file", "t"}, "--prometheus-token-file is given without --prometheus-url"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"apply"}, tc.args...), &stdout, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2 (usage)", code)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr.String())
			}
		})
	}
}

func TestCanaryFlagDefaults(t *testing.T) {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	a := canaryFlags(fs)
	if err := fs.Parse([]string{"--strategy", "canary", "--canary-window", "30s", "--canary-interval", "3s", "--canary-min-requests", "50"}); err != nil {
		t.Fatal(err)
	}
	st, co, err := a.options()
	if err != nil {
		t.Fatal(err)
	}
	if st != "canary" || co.Window != 30*time.Second || co.Interval != 3*time.Second || co.MinRequests != 50 ||
		co.Replicas != 1 || co.MaxErrorRatio != 0.01 || co.MaxP99Ratio != 1.5 || co.LatencyFloorSeconds != 0.01 {
		t.Fatalf("options %s %+v", st, co)
	}
}
