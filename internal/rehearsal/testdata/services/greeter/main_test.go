package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestHandler(t *testing.T) {
	env := map[string]string{"IMAGE_DIGEST": "sha256:abc", "IMAGE_REVISION": "0123abc"}
	var stopping atomic.Bool
	h := handler(func(k string) string { return env[k] }, &stopping)
	for _, tc := range []struct {
		path, key, want string
		status          int
		stop            bool
	}{
		{path: "/", key: "greeting", want: "Hello, world!", status: http.StatusOK},
		{path: "/?name=Ada", key: "greeting", want: "Hello, Ada!", status: http.StatusOK},
		{path: "/healthz", key: "status", want: "ok", status: http.StatusOK},
		{path: "/readyz", key: "status", want: "ready", status: http.StatusOK},
		{path: "/readyz", key: "status", want: "stopping", status: http.StatusServiceUnavailable, stop: true},
		{path: "/version", key: "digest", want: "sha256:abc", status: http.StatusOK},
		{path: "/version", key: "revision", want: "0123abc", status: http.StatusOK},
	} {
		stopping.Store(tc.stop)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, tc.path, nil))
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("GET %s: %v (%s)", tc.path, err, rec.Body)
		}
		if rec.Code != tc.status || body[tc.key] != tc.want {
			t.Errorf("GET %s = %d %v, want %d with %s %q", tc.path, rec.Code, body, tc.status, tc.key, tc.want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/nope", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", rec.Code)
	}
}
