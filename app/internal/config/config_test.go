package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const secret = "hunter2-very-secret"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func base() map[string]string {
	return map[string]string{"DB_HOST": "db", "DB_NAME": "orders", "DB_USER": "app", "DB_PASSWORD": secret}
}

func files(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if v, ok := m[p]; ok {
			return []byte(v), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(base()), files(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		HTTPAddr: ":8080", ServiceName: "orders", ShutdownTimeout: 20 * time.Second, DrainDelay: 5 * time.Second,
		RequestTimeout: 5 * time.Second, StartupTimeout: time.Minute, MaxBodyBytes: 64 << 10, LogLevel: slog.LevelInfo,
		DB: DB{Host: "db", Port: 5432, Name: "orders", User: "app", Password: NewSecret(secret), SSLMode: "require", MaxConns: 10},
	}
	if c != want {
		t.Fatalf("Load() = %+v\nwant %+v", c, want)
	}
}

func TestLoadOverrides(t *testing.T) {
	m := base()
	for k, v := range map[string]string{
		"HTTP_ADDR": "127.0.0.1:9090", "DB_PORT": "6543", "DB_SSLMODE": "disable", "SHUTDOWN_TIMEOUT": "30s",
		"SHUTDOWN_DRAIN_DELAY": "0s", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SERVICE_NAME": "orders-staging",
		"LOG_LEVEL": "debug", "DB_MAX_CONNS": "25", "MAX_BODY_BYTES": "2048",
	} {
		m[k] = v
	}
	c, err := Load(env(m), files(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9090" || c.DB.Port != 6543 || c.DB.SSLMode != "disable" || c.ShutdownTimeout != 30*time.Second ||
		c.DrainDelay != 0 || c.OTLPEndpoint != "http://collector:4318" || c.ServiceName != "orders-staging" ||
		c.LogLevel != slog.LevelDebug || c.DB.MaxConns != 25 || c.MaxBodyBytes != 2048 {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name  string
		set   map[string]string
		unset []string
		files map[string]string
		want  []string
	}{
		{name: "missing host", unset: []string{"DB_HOST"}, want: []string{"DB_HOST is required"}},
		{name: "missing everything", unset: []string{"DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD"},
			want: []string{"DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD or DB_PASSWORD_FILE is required"}},
		{name: "port not a number", set: map[string]string{"DB_PORT": "abc"}, want: []string{`DB_PORT="abc"`}},
		{name: "port out of range", set: map[string]string{"DB_PORT": "70000"}, want: []string{"DB_PORT", "1 to 65535"}},
		{name: "bad sslmode", set: map[string]string{"DB_SSLMODE": "on"}, want: []string{"DB_SSLMODE", "verify-full"}},
		{name: "bad duration", set: map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, want: []string{"SHUTDOWN_TIMEOUT"}},
		{name: "negative drain", set: map[string]string{"SHUTDOWN_DRAIN_DELAY": "-1s"}, want: []string{"SHUTDOWN_DRAIN_DELAY"}},
		{name: "timeout shorter than drain", set: map[string]string{"SHUTDOWN_TIMEOUT": "2s", "SHUTDOWN_DRAIN_DELAY": "5s"}, want: []string{"SHUTDOWN_TIMEOUT=2s must be longer"}},
		{name: "bad listen address", set: map[string]string{"HTTP_ADDR": "8080"}, want: []string{"HTTP_ADDR"}},
		{name: "bad log level", set: map[string]string{"LOG_LEVEL": "loud"}, want: []string{"LOG_LEVEL"}},
		{name: "both password sources", set: map[string]string{"DB_PASSWORD_FILE": "/run/secrets/pw"}, want: []string{"both set"}},
		{name: "missing password file", unset: []string{"DB_PASSWORD"}, set: map[string]string{"DB_PASSWORD_FILE": "/run/secrets/pw"},
			want: []string{`DB_PASSWORD_FILE="/run/secrets/pw" cannot be read`}},
		{name: "empty password file", unset: []string{"DB_PASSWORD"}, set: map[string]string{"DB_PASSWORD_FILE": "/run/secrets/pw"},
			files: map[string]string{"/run/secrets/pw": "\n"}, want: []string{"is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			for k, v := range tt.set {
				m[k] = v
			}
			for _, k := range tt.unset {
				delete(m, k)
			}
			_, err := Load(env(m), files(tt.files))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error reveals the password: %q", err)
			}
		})
	}
}

func TestPasswordFromFile(t *testing.T) {
	tests := []struct {
		content, want string
	}{
		{secret + "\n", secret},
		{secret + "\r\n", secret},
		{secret, secret},
		{" spaced pw ", " spaced pw "},
	}
	for _, tt := range tests {
		m := base()
		delete(m, "DB_PASSWORD")
		m["DB_PASSWORD_FILE"] = "/mnt/secrets/db-password"
		c, err := Load(env(m), files(map[string]string{"/mnt/secrets/db-password": tt.content}))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.DB.Password.Reveal(); got != tt.want {
			t.Errorf("password from file %q = %q, want %q", tt.content, got, tt.want)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := Load(env(base()), files(nil))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c, "db", c.DB, "password", c.DB.Password)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c, "password", c.DB.Password)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": c.DB.Password.String(), "slog": logged.String(), "json": string(js),
		"error": fmt.Errorf("wrapped: %v", c.DB).Error(),
	}
	for how, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("%s output reveals the password: %s", how, out)
		}
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s output lacks the redaction marker: %s", how, out)
		}
	}
	if c.DB.Password.Reveal() != secret {
		t.Fatal("Reveal lost the password")
	}
}

func TestLoadReportsAllProblems(t *testing.T) {
	_, err := Load(env(map[string]string{"DB_PORT": "x"}), files(nil))
	if err == nil {
		t.Fatal("want error")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) < 5 {
		t.Fatalf("want every problem reported at once, got %v", err)
	}
}
