package regclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"401", &transport.Error{StatusCode: http.StatusUnauthorized}, false},
		{"403", &transport.Error{StatusCode: http.StatusForbidden}, false},
		{"404", &transport.Error{StatusCode: http.StatusNotFound}, false},
		{"400", &transport.Error{StatusCode: http.StatusBadRequest}, false},
		{"500", &transport.Error{StatusCode: http.StatusInternalServerError}, true},
		{"503 wrapped", fmt.Errorf("push: %w", &transport.Error{StatusCode: http.StatusServiceUnavailable}), true},
		{"429", &transport.Error{StatusCode: http.StatusTooManyRequests}, true},
		{"timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, true},
		{"connection reset", fmt.Errorf("upload: %w", syscall.ECONNRESET), true},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("manifest invalid"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Fatalf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name       string
		user, pass string
		wantErr    string
	}{
		{"both", "u", "CANARY-both-7f3a", ""},
		{"neither", "", "", ""},
		{"user only", "u", "", "PASS is empty"},
		{"password only", "", "CANARY-pass-only-9c1e", "USER is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"USER": tt.user, "PASS": tt.pass}
			c, err := CredentialsFromEnv(func(k string) string { return env[k] }, "USER", "PASS")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if tt.pass != "" && strings.Contains(err.Error(), tt.pass) {
					t.Fatalf("error %q reveals the password", err)
				}
				return
			}
			if err != nil || c.Username != tt.user || c.Password != tt.pass {
				t.Fatalf("%+v %v", c, err)
			}
		})
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	c := Credentials{Username: "ci", Password: "CANARY-secret"}
	cl := New(Options{Credentials: c})
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%v %+v %#v", cl, cl, cl)} {
		if strings.Contains(s, "CANARY") {
			t.Fatalf("formatted credentials reveal the password: %s", s)
		}
	}
}

func TestExplain(t *testing.T) {
	c := New(Options{CredentialsHint: "REGISTRY_USERNAME/REGISTRY_PASSWORD", Backoff: Backoff{Initial: time.Millisecond, Factor: 2, Steps: 3}})
	tests := []struct {
		err  error
		want string
	}{
		{&transport.Error{StatusCode: 401}, "rejected the credentials (401 Unauthorized, not retried): check REGISTRY_USERNAME/REGISTRY_PASSWORD"},
		{&transport.Error{StatusCode: 403}, "denied access"},
		{&transport.Error{StatusCode: 404}, "no such manifest"},
		{&transport.Error{StatusCode: 503}, "kept failing (HTTP 503) after 3 attempts"},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "unreachable or not answering after 3 attempts"},
		{errors.New("http: server gave HTTP response to HTTPS client"), "pass --plain-http"},
	}
	for _, tt := range tests {
		got := c.Explain(tt.err, "push", "reg.example")
		if !strings.Contains(got.Error(), tt.want) || !strings.Contains(got.Error(), "reg.example") || !errors.Is(got, tt.err) {
			t.Errorf("Explain(%v) = %q; want %q, the registry, and the cause wrapped", tt.err, got, tt.want)
		}
	}
}
