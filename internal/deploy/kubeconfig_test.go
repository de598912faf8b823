package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadKubeconfigErrorsCarryNoSecret(t *testing.T) {
	const token = "s3cr3t-t0ken-value-123456"
	tests := []struct {
		name, content, wantErr string
	}{
		{"not yaml", "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: " + token + "\n  : : bad\n\t- x", "not a valid kubeconfig"},
		{"no context", "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: " + token + "\n", "defines no context"},
		{"missing cluster", "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: " + token + "\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n", "--kubeconfig"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "kubeconfig")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := loadKubeconfig(p)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("error carries the token: %v", err)
			}
		})
	}
	if _, _, err := loadKubeconfig(""); err == nil || !strings.Contains(err.Error(), "--kubeconfig is required") {
		t.Errorf("empty path: %v", err)
	}
	if _, _, err := loadKubeconfig(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("missing file: %v", err)
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor(rawSecrets([]byte("users:\n- name: a\n  user:\n    token: \"abcdefgh123\"\n    password: 'pw-123456'\n    username: bob\n")))
	got := r.clean("token abcdefgh123 and pw-123456 for bob")
	if got != "token [REDACTED] and [REDACTED] for bob" {
		t.Errorf("clean = %q", got)
	}
}
