package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-aks/pipeline/internal/deploy"
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

// TestInterruptedExitCode: a deploy stopped by SIGTERM (here before it
// reached the server) exits 143 and its summary says interrupted.
func TestInterruptedExitCode(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"+
		"users:\n- name: u\n  user:\n    token: abcdefghijkl\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&signalError{tc.sig})
		summary := filepath.Join(dir, "summary.json")
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"apply", "--kubeconfig", kc, "--manifests", "../../manifests", "--environment", "staging",
			"--image", "r.example/orders@" + digest, "--summary-file", summary}, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", tc.sig, code, tc.code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "deploy staging: interrupted") || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("%v: output does not say interrupted:\n%s\n%s", tc.sig, stdout.String(), stderr.String())
		}
		data, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		var s deploy.Summary
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		if s.Outcome != deploy.Interrupted || s.Interrupted == nil || (s.Interrupted.Stage != deploy.StageRender && s.Interrupted.Stage != deploy.StageConnect) || s.Interrupted.Changed {
			t.Errorf("%v: summary %s", tc.sig, data)
		}
	}
}
