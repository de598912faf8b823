package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"dagger/pipeline/cmdline"
)

const contractRef = "nonprod.azurecr.io/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var errParsed = errors.New("parsed; the contract test stops here")

// TestPipelineCommandLinesParse is the contract between the pipeline's one
// builder of command lines (ci/cmdline, used by the Dagger module and the
// release rehearsal) and this command: every kind of line it builds is parsed
// by deploy's own flag definitions, each option landing in its flag.
func TestPipelineCommandLinesParse(t *testing.T) {
	tests := []struct {
		name string
		o    cmdline.DeployOptions
		want map[string]string
	}{
		{"every option", cmdline.DeployOptions{Kubeconfig: "/run/secrets/kubeconfig", Manifests: "/src/manifests", Environment: "production",
			Image: contractRef, Namespace: "orders", Timeout: "90s", Rollback: true, SummaryFile: "/work/summary.json",
			Components: []string{"components/db-password-from-secret", "components/extra"}},
			map[string]string{"kubeconfig": "/run/secrets/kubeconfig", "manifests": "/src/manifests", "environment": "production",
				"image": contractRef, "namespace": "orders", "timeout": "1m30s", "rollback": "true", "summary-file": "/work/summary.json",
				"component": "components/db-password-from-secret,components/extra"}},
		{"defaults, no rollback", cmdline.DeployOptions{Kubeconfig: "/k", Manifests: "/m", Environment: "staging", Image: contractRef},
			map[string]string{"environment": "staging", "timeout": "5m0s", "rollback": "false", "namespace": "", "component": "", "summary-file": ""}},
	}
	rv := reflect.ValueOf(tests[0].o)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("cmdline.DeployOptions.%s is not set by the every-option line: set it and check its flag", rv.Type().Field(i).Name)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := cmdline.DeployArgs("deploy", tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if args[0] != "deploy" {
				t.Fatalf("not a deploy command line: %q", args)
			}
			var got *flag.FlagSet
			afterParse = func(fs *flag.FlagSet) error { got = fs; return errParsed }
			defer func() { afterParse = nil }()
			var stderr bytes.Buffer
			code := run(context.Background(), args[1:], io.Discard, &stderr)
			if code != 1 || got == nil || !strings.Contains(stderr.String(), errParsed.Error()) {
				t.Fatalf("deploy rejects the pipeline's command line %q (exit %d):\n%s", args, code, stderr.String())
			}
			if got.Name() != args[1] {
				t.Fatalf("parsed by %q, want %s", got.Name(), args[1])
			}
			for name, want := range tt.want {
				f := got.Lookup(name)
				if f == nil {
					t.Errorf("deploy %s has no --%s", args[1], name)
					continue
				}
				if v := f.Value.String(); v != want {
					t.Errorf("--%s = %q, want %q (from %q)", name, v, want, args)
				}
			}
		})
	}
}

// TestContractParserBites shows the contract fails on a line deploy does not
// accept.
func TestContractParserBites(t *testing.T) {
	called := false
	afterParse = func(*flag.FlagSet) error { called = true; return errParsed }
	defer func() { afterParse = nil }()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"apply", "--kubeconfig", "/k", "--rollback", "false"}, io.Discard, &stderr)
	if called || code != 2 || !strings.Contains(stderr.String(), `unexpected argument "false"`) {
		t.Fatalf("a stray argument parsed (exit %d, hook called %t):\n%s", code, called, stderr.String())
	}
}
