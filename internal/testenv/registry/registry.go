// Package registry starts a real OCI distribution registry (the
// github.com/distribution/distribution/v3 binary pinned in hack/tools) for
// tests and the release rehearsal: plain HTTP on loopback, filesystem storage,
// deletes enabled and, when a username is given, htpasswd authentication.
package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// registryPackage is the main package of the distribution registry.
const registryPackage = "github.com/distribution/distribution/v3/cmd/registry"

// startTimeout bounds how long Start waits for the registry to answer /v2/.
const startTimeout = 30 * time.Second

// Config describes the registry to start.
type Config struct {
	// Dir keeps the registry's blobs and manifests. Empty: a temporary
	// directory that Close removes. A directory given here is left in place
	// by Close (its content survives a restart on the same Dir).
	Dir string
	// ListenAddr is the host:port to listen on; default "127.0.0.1:0", which
	// picks a free port on loopback.
	ListenAddr string
	// Username and Password turn on htpasswd authentication (bcrypt). Both or
	// neither must be set.
	Username, Password string
	// BinDir is the directory holding the registry binary. Empty: built from
	// hack/tools with toolbin (cached).
	BinDir string
}

// Registry is a running distribution registry.
type Registry struct {
	// Host is "127.0.0.1:PORT": the registry part of image references.
	Host string
	// Username and Password are the htpasswd credentials (empty when the
	// registry accepts anonymous requests).
	Username, Password string
	// DataDir is the storage root directory.
	DataDir string
	// LogPath is the file receiving the registry's stdout and stderr; it is
	// removed by Close.
	LogPath string

	cmd      *exec.Cmd
	workDir  string
	ownsData bool
	done     chan struct{}
	waitErr  error
	once     sync.Once
	closeErr error
}

// ConfigError reports a Config field Start cannot use.
type ConfigError struct {
	// Field is the Config field at fault, e.g. "Username".
	Field string
	// Reason says what is wrong and how to fix it.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *ConfigError) Error() string {
	msg := "registry: Config." + e.Field + " " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrBinaryMissing is returned (wrapped) by Start when Config.BinDir holds
// no registry binary.
var ErrBinaryMissing = errors.New("registry: binary missing")

// Start starts a registry and waits until it answers on /v2/.
func Start(ctx context.Context, cfg Config) (*Registry, error) {
	if (cfg.Username == "") != (cfg.Password == "") {
		field := "Password"
		if cfg.Username == "" {
			field = "Username"
		}
		return nil, &ConfigError{Field: field, Reason: "is empty: set both Config.Username and Config.Password, or neither"}
	}
	if strings.Contains(cfg.Username, ":") {
		return nil, &ConfigError{Field: "Username", Reason: "must not contain ':' (htpasswd separator)"}
	}
	addr := cfg.ListenAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &ConfigError{Field: "ListenAddr", Reason: fmt.Sprintf("%q is not host:port", addr), Err: err}
	}
	binDir := cfg.BinDir
	if binDir == "" {
		binDir, err = toolbin.Build(ctx, toolbin.Spec{Module: "hack/tools", Packages: []string{registryPackage}, FirstBuild: "about a minute on 2 cores"})
		if err != nil {
			return nil, fmt.Errorf("registry: build the distribution registry binary: %w", err)
		}
	}
	bin := filepath.Join(binDir, "registry")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (set Config.BinDir to a directory holding the distribution registry binary, or leave it empty to build it): %w", ErrBinaryMissing, err)
	}

	work, err := os.MkdirTemp("", "testenv-registry-")
	if err != nil {
		return nil, fmt.Errorf("registry: create work directory: %w", err)
	}
	r := &Registry{Username: cfg.Username, Password: cfg.Password, workDir: work, LogPath: filepath.Join(work, "registry.log")}
	ok := false
	defer func() {
		if !ok {
			_ = r.Close()
		}
	}()

	r.DataDir = cfg.Dir
	if r.DataDir == "" {
		r.DataDir = filepath.Join(work, "data")
		r.ownsData = true
	}
	if err := os.MkdirAll(r.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("registry: create storage directory %s: %w", r.DataDir, err)
	}

	if host == "" {
		host = "127.0.0.1"
	}
	if port == "0" {
		port, err = freePort(ctx, host)
		if err != nil {
			return nil, err
		}
	}
	r.Host = net.JoinHostPort(host, port)

	htpasswdPath := ""
	if cfg.Username != "" {
		// The registry checks the bcrypt hash on every request; the lowest
		// cost keeps a throwaway test registry from spending its time there.
		hash, err := bcrypt.GenerateFromPassword([]byte(cfg.Password), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("registry: hash password: %w", err)
		}
		htpasswdPath = filepath.Join(work, "htpasswd")
		if err := os.WriteFile(htpasswdPath, []byte(cfg.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("registry: write htpasswd: %w", err)
		}
	}
	configPath := filepath.Join(work, "config.yml")
	if err := os.WriteFile(configPath, []byte(configYAML(r.DataDir, r.Host, htpasswdPath)), 0o600); err != nil {
		return nil, fmt.Errorf("registry: write config: %w", err)
	}

	logFile, err := os.OpenFile(r.LogPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registry: create log file: %w", err)
	}
	defer func() { _ = logFile.Close() }()

	// Not CommandContext: the registry outlives Start's context; Close stops it.
	cmd := exec.Command(bin, "serve", configPath) //nolint:gosec,noctx // our own binary; it outlives ctx and Close stops it
	cmd.Dir = work
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + work,
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("registry: start %s: %w", bin, err)
	}
	r.cmd = cmd
	r.done = make(chan struct{})
	go func() {
		r.waitErr = cmd.Wait()
		close(r.done)
	}()

	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	ok = true
	return r, nil
}

func (r *Registry) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + r.Host + "/v2/"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("registry: readiness request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			// 200 without auth, 401 with htpasswd: either way it is serving.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("registry: exited before answering on %s (%w); log:\n%s", url, r.waitErr, r.logTail())
		case <-ctx.Done():
			return fmt.Errorf("registry: no answer on %s within %s: %w; log:\n%s", url, startTimeout, ctx.Err(), r.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Authenticator returns go-containerregistry credentials for this registry
// (anonymous when it has no htpasswd user).
func (r *Registry) Authenticator() authn.Authenticator {
	if r.Username == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: r.Username, Password: r.Password})
}

// Close stops the registry and removes its configuration, log and, unless
// Config.Dir was given, its storage. It is safe to call more than once.
func (r *Registry) Close() error {
	r.once.Do(func() {
		var errs []error
		if r.cmd != nil && r.cmd.Process != nil {
			select {
			case <-r.done:
			default:
				_ = r.cmd.Process.Signal(os.Interrupt)
				select {
				case <-r.done:
				case <-time.After(5 * time.Second):
					if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
						errs = append(errs, fmt.Errorf("registry: kill pid %d: %w", r.cmd.Process.Pid, err))
					}
					<-r.done
				}
			}
		}
		if r.ownsData && r.DataDir != "" {
			if err := os.RemoveAll(r.DataDir); err != nil {
				errs = append(errs, fmt.Errorf("registry: remove storage: %w", err))
			}
		}
		if r.workDir != "" {
			if err := os.RemoveAll(r.workDir); err != nil {
				errs = append(errs, fmt.Errorf("registry: remove work directory: %w", err))
			}
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// logTail returns the last few KiB of the registry's log for error messages.
func (r *Registry) logTail() string {
	data, err := os.ReadFile(r.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 4096
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(bytes.TrimSpace(data))
}

func freePort(ctx context.Context, host string) (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("registry: pick a free port on %s: %w", host, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("registry: release probe port: %w", err)
	}
	return strconv.Itoa(port), nil
}

func configYAML(dataDir, addr, htpasswdPath string) string {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
  headers:
    X-Content-Type-Options: [nosniff]
`, dataDir, addr, hex.EncodeToString(secret))
	if htpasswdPath != "" {
		fmt.Fprintf(&b, `auth:
  htpasswd:
    realm: testenv-registry
    path: %q
`, htpasswdPath)
	}
	return b.String()
}
