package deploy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-aks/pipeline/internal/deploy"
)

// TestNoCredentialInAnyEncoding runs deploy against a TLS server the test
// starts, which answers with the credentials deploy sent, encoded the ways
// servers and proxies echo them, and searches everything deploy returned
// and logged for every credential in every encoding.
func TestNoCredentialInAnyEncoding(t *testing.T) {
	const (
		token    = "kube-token-0123456789abcdefXYZ"
		fileTok  = "file-token-9876543210zyxwvuABC"
		password = "Pa55+w0rd/with?chars&more"
		urlPass  = "url-passw0rd-in-server-url"
	)
	// The server answers 500 with what a badly behaved server or proxy
	// puts in its error body.
	type body func(r *http.Request) (contentType, text string)
	tests := []struct {
		name    string
		user    string // the kubeconfig's user stanza
		userURL string // userinfo of the server URL
		body    body
		secrets []string
	}{
		{"bearer token, base64 in a text body", "    token: " + token, "", func(*http.Request) (string, string) {
			return "text/plain", "invalid credentials " + base64.StdEncoding.EncodeToString([]byte(token))
		}, []string{token}},
		{"bearer token, base64url in a Status message", "    token: " + token, "", func(*http.Request) (string, string) {
			st := map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500, "reason": "InternalError",
				"message": "token " + base64.RawURLEncoding.EncodeToString([]byte(token)) + " and " + url.QueryEscape(token) + " rejected"}
			b, _ := json.Marshal(st)
			return "application/json", string(b)
		}, []string{token}},
		{"token file, Authorization header echoed base64-encoded", "    tokenFile: TOKENFILE", "", func(r *http.Request) (string, string) {
			return "text/plain", "debug: request headers " + base64.StdEncoding.EncodeToString([]byte("Authorization: "+r.Header.Get("Authorization")))
		}, []string{fileTok, "Authorization: Bearer " + fileTok}},
		{"basic auth, Authorization header echoed raw", "    username: alice\n    password: \"" + password + "\"", "", func(r *http.Request) (string, string) {
			return "text/plain", "refused " + r.Header.Get("Authorization") + " for " + url.PathEscape(password)
		}, []string{password, "alice:" + password}},
		{"password in the server URL", "    token: " + token, "bob:" + urlPass, func(r *http.Request) (string, string) {
			return "text/plain", "no " + url.QueryEscape(urlPass)
		}, []string{token, urlPass}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ct, text := tc.body(r)
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(text))
			}))
			defer srv.Close()
			dir := t.TempDir()
			ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
			if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "token"), []byte(fileTok), 0o600); err != nil {
				t.Fatal(err)
			}
			server := srv.URL
			if tc.userURL != "" {
				server = strings.Replace(server, "https://", "https://"+tc.userURL+"@", 1)
			}
			kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    certificate-authority: %s\n"+
				"users:\n- name: u\n  user:\n%s\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n",
				server, filepath.Join(dir, "ca.crt"), strings.ReplaceAll(tc.user, "TOKENFILE", filepath.Join(dir, "token")))
			path := filepath.Join(dir, "kubeconfig")
			if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			sum, err := deploy.Run(context.Background(), deploy.Options{
				Kubeconfig: path, Manifests: "../../manifests", Environment: "staging",
				Image:  "r.example/orders@sha256:" + strings.Repeat("ab", 32),
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err == nil {
				t.Fatal("deploy succeeded against a server answering 500")
			}
			if !strings.Contains(err.Error(), "cannot reach the Kubernetes API server") || !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error does not say which server failed: %v", err)
			}
			out := err.Error() + "\n" + logs.String()
			if sum != nil {
				out += "\n" + sum.String()
			}
			t.Logf("deploy said: %s", out)
			if l := deploy.Leaks(out, tc.secrets...); len(l) > 0 {
				t.Errorf("output carries credentials: %v", l)
			}
		})
	}
}
