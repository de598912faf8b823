package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, 2, "", "usage:"},
		{"unknown command", []string{"rollout"}, 1, "", `unknown command "rollout"`},
		{"unknown flag", []string{"render", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"tag refused", []string{"render", "--manifests", "../../manifests", "--environment", "staging", "--image", "r.example/orders:1.0"}, 1, "", "not pinned to a digest"},
		{"render staging", []string{"render", "--manifests", "../../manifests", "--environment", "staging", "--image", "r.example/orders@" + digest}, 0, "image: r.example/orders@" + digest, ""},
		{"apply needs kubeconfig", []string{"apply", "--manifests", "../../manifests", "--environment", "staging", "--image", "r.example/orders@" + digest}, 1, "", "--kubeconfig is required"},
		{"apply bad timeout", []string{"apply", "--timeout", "0s"}, 2, "", "--timeout must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr.String())
			}
		})
	}
}
