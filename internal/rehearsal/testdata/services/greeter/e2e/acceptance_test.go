//go:build greeter_acceptance

// Package e2e is the greeter's acceptance suite, run against a deployed
// service at BASE_URL.
package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"
)

func get(t *testing.T, path string) (int, map[string]string) {
	t.Helper()
	base := os.Getenv("BASE_URL")
	if base == "" {
		t.Fatal("BASE_URL is not set: point it at the deployed greeter, e.g. http://10.0.0.1")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil) //nolint:gosec // BASE_URL is the deployment under test
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp, err := client.Do(req) //nolint:gosec // BASE_URL is the deployment under test
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: decode the JSON body: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestGreets(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/", "Hello, world!"},
		{"/?name=staging", "Hello, staging!"},
	} {
		code, body := get(t, tc.path)
		if code != http.StatusOK || body["greeting"] != tc.want {
			t.Errorf("GET %s = %d %v, want 200 with greeting %q", tc.path, code, body, tc.want)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		code, body := get(t, path)
		if code != http.StatusOK || body["status"] != want {
			t.Errorf("GET %s = %d %v, want 200 with status %q", path, code, body, want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, body := get(t, "/version")
	if code != http.StatusOK {
		t.Fatalf("GET /version = %d %v", code, body)
	}
	if _, ok := body["digest"]; !ok {
		t.Errorf("GET /version = %v, want a digest field", body)
	}
}
