package deploy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
			if l := leaks(err.Error(), token); len(l) > 0 {
				t.Fatalf("error carries the token (%v): %v", l, err)
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

func TestKubeconfigMessagesNameWhatIsWrong(t *testing.T) {
	const kc = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\nusers:\n- name: u\n  user:\n%s\ncontexts:\n- name: one\n  context:\n    cluster: c\n    user: u\n%s"
	tests := []struct {
		name, content string
		want          []string
		wantType      any
	}{
		{"empty file", "", []string{"is empty"}, nil},
		{"blank file", "\n  \n", []string{"is empty"}, nil},
		{"current-context names a missing context", fmt.Sprintf(kc, "    token: abcdefghijk", "current-context: production-aks\n"), []string{`current-context "production-aks" names no context`, `"one"`}, nil},
		{"no current-context", fmt.Sprintf(kc, "    token: abcdefghijk", ""), []string{"sets no current-context", `"one"`}, nil},
		{"exec plugin missing", fmt.Sprintf(kc, "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin-not-installed-here\n      args: [get-token]", "current-context: one\n"),
			[]string{`exec plugin "kubelogin-not-installed-here"`, "not installed", "no server was contacted", "kubelogin convert-kubeconfig -l azurecli|workloadidentity|spn"}, &ExecPluginError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "kubeconfig")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := loadKubeconfig(p)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "has no current context") {
				t.Errorf("misleading message: %v", err)
			}
			if tc.wantType != nil {
				var pe *ExecPluginError
				if !errors.As(err, &pe) {
					t.Errorf("error %T is not an *ExecPluginError", err)
				}
			}
		})
	}
}

// TestKubeconfigRelativePaths: certificate-authority, client-certificate,
// client-key and tokenFile are read relative to the kubeconfig's directory,
// whatever the working directory.
func TestKubeconfigRelativePaths(t *testing.T) {
	dir := t.TempDir()
	const token = "token-from-a-file-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o750); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t)
	for name, data := range map[string][]byte{"ca.crt": certPEM, "client.crt": certPEM, "client.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, "pki", name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority: pki/ca.crt\n" +
		"users:\n- name: u\n  user:\n    tokenFile: token\n    client-certificate: pki/client.crt\n    client-key: pki/client.key\n" +
		"contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
	p := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, red, err := loadKubeconfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "pki", "ca.crt"); rc.CAFile != want {
		t.Errorf("CAFile = %q, want %q", rc.CAFile, want)
	}
	if want := filepath.Join(dir, "pki", "client.crt"); rc.CertFile != want {
		t.Errorf("CertFile = %q, want %q", rc.CertFile, want)
	}
	if want := filepath.Join(dir, "pki", "client.key"); rc.KeyFile != want {
		t.Errorf("KeyFile = %q, want %q", rc.KeyFile, want)
	}
	if strings.TrimSpace(rc.BearerToken) != token {
		t.Errorf("the token file was not read relative to the kubeconfig")
	}
	if l := leaks(red.clean("server said "+token), token); len(l) > 0 {
		t.Errorf("the token file's content is not redacted: %v", l)
	}
	keyLine := strings.Split(string(keyPEM), "\n")[1]
	if l := leaks(red.clean("key "+keyLine), keyLine); len(l) > 0 {
		t.Errorf("the client key file's content is not redacted: %v", l)
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}
