// Package config reads and validates the orders service's configuration from
// the environment. Every error names the variable at fault and how to fix it.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the service's validated configuration.
type Config struct {
	// HTTPAddr is the listen address (HTTP_ADDR, default ":8080").
	HTTPAddr string
	DB       DB
	// OTLPEndpoint enables OTLP trace export (OTEL_EXPORTER_OTLP_ENDPOINT).
	OTLPEndpoint string
	// ServiceName is the OpenTelemetry service name (OTEL_SERVICE_NAME, default "orders").
	ServiceName string
	// ShutdownTimeout bounds the graceful shutdown (SHUTDOWN_TIMEOUT, default 20s).
	ShutdownTimeout time.Duration
	// DrainDelay is the time between turning unready on SIGTERM and closing
	// the listener (SHUTDOWN_DRAIN_DELAY, default 5s).
	DrainDelay time.Duration
	// RequestTimeout bounds the database work of one request (REQUEST_TIMEOUT, default 5s).
	RequestTimeout time.Duration
	// MaxBodyBytes limits request bodies (MAX_BODY_BYTES, default 65536).
	MaxBodyBytes int64
	// LogLevel is the minimum log level (LOG_LEVEL, default info).
	LogLevel slog.Level
	// StartupTimeout bounds waiting for the database at start-up (DB_STARTUP_TIMEOUT, default 60s).
	StartupTimeout time.Duration
}

// DB is how the service reaches PostgreSQL.
type DB struct {
	Host     string // DB_HOST (required)
	Port     int    // DB_PORT (default 5432)
	Name     string // DB_NAME (required)
	User     string // DB_USER (required)
	Password Secret // DB_PASSWORD or the content of DB_PASSWORD_FILE
	SSLMode  string // DB_SSLMODE (default require)
	MaxConns int32  // DB_MAX_CONNS (default 10)
}

// Secret holds a secret value that never prints: fmt, slog and JSON all see
// "[REDACTED]". Use Reveal where the value is really needed.
type Secret struct{ value string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.value }

// String redacts the secret.
func (Secret) String() string { return "[REDACTED]" }

// GoString redacts the secret for %#v.
func (Secret) GoString() string { return "[REDACTED]" }

// LogValue redacts the secret in slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// MarshalText redacts the secret in JSON and text encodings.
func (Secret) MarshalText() ([]byte, error) { return []byte("[REDACTED]"), nil }

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// Load reads the configuration through getenv (os.Getenv in main) and reads
// DB_PASSWORD_FILE through readFile (os.ReadFile in main). It reports every
// problem at once, each naming its variable.
func Load(getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	l := loader{getenv: getenv}
	c := Config{
		HTTPAddr:        l.str("HTTP_ADDR", ":8080"),
		OTLPEndpoint:    strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")),
		ServiceName:     l.str("OTEL_SERVICE_NAME", "orders"),
		ShutdownTimeout: l.duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second),
		DrainDelay:      l.duration("SHUTDOWN_DRAIN_DELAY", 5*time.Second, 0),
		RequestTimeout:  l.duration("REQUEST_TIMEOUT", 5*time.Second, 10*time.Millisecond),
		StartupTimeout:  l.duration("DB_STARTUP_TIMEOUT", 60*time.Second, time.Second),
		MaxBodyBytes:    int64(l.integer("MAX_BODY_BYTES", 64<<10, 1024, 16<<20)),
		LogLevel:        l.level("LOG_LEVEL"),
		DB: DB{
			Host:     l.required("DB_HOST", "the PostgreSQL host name or IP address"),
			Port:     l.integer("DB_PORT", 5432, 1, 65535),
			Name:     l.required("DB_NAME", "the database name"),
			User:     l.required("DB_USER", "the database user"),
			SSLMode:  l.oneOf("DB_SSLMODE", "require", sslModes),
			MaxConns: int32(l.integer("DB_MAX_CONNS", 10, 1, 1000)), //nolint:gosec // bounded to 1000 above
		},
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		l.fail("HTTP_ADDR=%q is not a host:port listen address (for example :8080): %v", c.HTTPAddr, err)
	}
	c.DB.Password = l.password(readFile)
	if c.ShutdownTimeout <= c.DrainDelay && l.getenv("SHUTDOWN_TIMEOUT") != "" {
		l.fail("SHUTDOWN_TIMEOUT=%s must be longer than SHUTDOWN_DRAIN_DELAY=%s", c.ShutdownTimeout, c.DrainDelay)
	}
	if len(l.errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(l.errs...))
	}
	return c, nil
}

type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

func (l *loader) str(name, def string) string {
	if v := strings.TrimSpace(l.getenv(name)); v != "" {
		return v
	}
	return def
}

func (l *loader) required(name, what string) string {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		l.fail("%s is required: set it to %s", name, what)
	}
	return v
}

func (l *loader) integer(name string, def, lo, hi int) int {
	raw := strings.TrimSpace(l.getenv(name))
	if raw == "" {
		return def
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < lo || v > hi {
		l.fail("%s=%q must be an integer from %d to %d", name, raw, lo, hi)
		return def
	}
	return v
}

func (l *loader) duration(name string, def, minimum time.Duration) time.Duration {
	raw := strings.TrimSpace(l.getenv(name))
	if raw == "" {
		return def
	}
	v, err := time.ParseDuration(raw)
	if err != nil || v < minimum {
		l.fail("%s=%q must be a duration of at least %s, such as 5s or 1m30s", name, raw, minimum)
		return def
	}
	return v
}

func (l *loader) oneOf(name, def string, allowed []string) string {
	v := l.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.fail("%s=%q must be one of %s", name, v, strings.Join(allowed, ", "))
	return def
}

func (l *loader) level(name string) slog.Level {
	raw := strings.TrimSpace(l.getenv(name))
	if raw == "" {
		return slog.LevelInfo
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(raw)); err != nil {
		l.fail("%s=%q must be one of debug, info, warn, error", name, raw)
		return slog.LevelInfo
	}
	return lv
}

// password reads DB_PASSWORD or DB_PASSWORD_FILE; exactly one must be set.
// Errors never contain the password.
func (l *loader) password(readFile func(string) ([]byte, error)) Secret {
	direct, file := l.getenv("DB_PASSWORD"), strings.TrimSpace(l.getenv("DB_PASSWORD_FILE"))
	switch {
	case direct != "" && file != "":
		l.fail("DB_PASSWORD and DB_PASSWORD_FILE are both set: set only one (DB_PASSWORD_FILE for a mounted Kubernetes secret)")
	case direct != "":
		return NewSecret(direct)
	case file != "":
		b, err := readFile(filepath.Clean(file))
		if err != nil {
			var pe interface{ Unwrap() error }
			if errors.As(err, &pe) {
				err = pe.Unwrap() // drop the path-carrying wrapper; the path is named below
			}
			l.fail("DB_PASSWORD_FILE=%q cannot be read: %v", file, err)
			return Secret{}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			l.fail("DB_PASSWORD_FILE=%q is empty: it must hold the database password", file)
		}
		return NewSecret(v)
	default:
		l.fail("DB_PASSWORD or DB_PASSWORD_FILE is required: set DB_PASSWORD_FILE to the path of a file holding the database password")
	}
	return Secret{}
}
