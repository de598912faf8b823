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
		services  string
	}{
		{name: "defaults"},
		{name: "fault", args: []string{"-fault", "production-crash"}, fault: rehearsal.FaultProductionCrash},
		{name: "services", args: []string{"-service", ".", "-service", "x"}, services: ".,x"},
		{name: "empty service", args: []string{"-service", " "}, wantErr: "-service"},
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
			if cfg.fault != tc.fault || strings.Join(cfg.platforms, ",") != tc.platforms || strings.Join(cfg.services, ",") != tc.services {
				t.Errorf("fault %q platforms %v services %v, want %q %s %s", cfg.fault, cfg.platforms, cfg.services, tc.fault, tc.platforms, tc.services)
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

func TestLoadServices(t *testing.T) {
	svcs, err := loadServices(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != "orders,greeter" {
		t.Fatalf("default services %v, want orders and greeter", names)
	}
	if _, err := loadServices([]string{"../..", "../../"}); err == nil || !strings.Contains(err.Error(), `both service "orders"`) {
		t.Fatalf("the same service twice: %v, want it refused", err)
	}
	var stderr strings.Builder
	if code := run(context.Background(), []string{"-service", t.TempDir()}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "go.mod") {
		t.Fatalf("a directory without go.mod: exit %d, stderr %q; want 2 naming go.mod", code, stderr.String())
	}
}
