// Package servicetest gives the service's integration and acceptance tests
// their real surroundings: a PostgreSQL database (the one named by TEST_DB_*
// or a throwaway server) and the orders binary built and run as a
// subprocess.
package servicetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-aks/pipeline/internal/testenv/postgres"
)

// DB says how to reach a database.
type DB struct {
	Host, Name, User, Password, SSLMode string
	Port                                int
	// Server is the throwaway server when this package started one (nil for
	// an external database); tests use it to cause outages.
	Server *postgres.Server
}

// Env returns the service's DB_* variables for db; the password travels in
// the environment, as a Kubernetes secret would deliver it.
func (db DB) Env() []string {
	return []string{
		"DB_HOST=" + db.Host, "DB_PORT=" + strconv.Itoa(db.Port), "DB_NAME=" + db.Name,
		"DB_USER=" + db.User, "DB_PASSWORD=" + db.Password, "DB_SSLMODE=" + db.SSLMode,
	}
}

// ConnString is a pgx/libpq URL for db.
func (db DB) ConnString() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(db.User, db.Password),
		Host: net.JoinHostPort(db.Host, strconv.Itoa(db.Port)), Path: "/" + db.Name,
		RawQuery: "sslmode=" + url.QueryEscape(db.SSLMode)}
	return u.String()
}

// ExternalDB returns the database named by TEST_DB_HOST, TEST_DB_PORT
// (5432), TEST_DB_NAME, TEST_DB_USER, TEST_DB_PASSWORD and TEST_DB_SSLMODE
// (disable), and false when TEST_DB_HOST is unset.
func ExternalDB(getenv func(string) string) (DB, bool, error) {
	host := getenv("TEST_DB_HOST")
	if host == "" {
		return DB{}, false, nil
	}
	db := DB{Host: host, Port: 5432, Name: getenv("TEST_DB_NAME"), User: getenv("TEST_DB_USER"),
		Password: getenv("TEST_DB_PASSWORD"), SSLMode: getenv("TEST_DB_SSLMODE")}
	if p := getenv("TEST_DB_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return DB{}, true, fmt.Errorf("TEST_DB_PORT=%q must be a port number", p)
		}
		db.Port = n
	}
	if db.SSLMode == "" {
		db.SSLMode = "disable"
	}
	var missing []string
	for _, kv := range [][2]string{{"TEST_DB_NAME", db.Name}, {"TEST_DB_USER", db.User}, {"TEST_DB_PASSWORD", db.Password}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return DB{}, true, fmt.Errorf("TEST_DB_HOST is set but %s not: set all of them or none", strings.Join(missing, ", "))
	}
	return db, true, nil
}

// StartDB starts a throwaway PostgreSQL with a database "orders". Stop it
// with db.Server.Stop.
func StartDB(ctx context.Context) (DB, error) {
	srv, err := postgres.Start(ctx, postgres.Options{})
	if err != nil {
		return DB{}, err
	}
	if err := srv.CreateDatabase(ctx, "orders"); err != nil {
		_ = srv.Stop(context.WithoutCancel(ctx))
		return DB{}, err
	}
	return DB{Host: srv.Host, Port: srv.Port, Name: "orders", User: srv.User, Password: srv.Password,
		SSLMode: "disable", Server: srv}, nil
}

// Database returns the external database when TEST_DB_HOST is set,
// otherwise a throwaway one; stop releases what was started.
func Database(ctx context.Context) (db DB, stop func(), err error) {
	db, ok, err := ExternalDB(os.Getenv)
	if err != nil {
		return DB{}, nil, err
	}
	if ok {
		return db, func() {}, nil
	}
	db, err = StartDB(ctx)
	if err != nil {
		return DB{}, nil, err
	}
	return db, func() { _ = db.Server.Stop(context.WithoutCancel(ctx)) }, nil
}

// ordersPackage is the main package of the service, built by import path so
// that the build works from any directory of the app module.
const ordersPackage = "github.com/go-aks/pipeline/app/cmd/orders"

// BuildOrders builds the orders binary (static, as shipped) into dir.
func BuildOrders(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "orders")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, ordersPackage) //nolint:gosec // builds this module's package into a directory the caller chose
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", ordersPackage, err, b)
	}
	return out, nil
}

// Process is a running orders binary.
type Process struct {
	// BaseURL is http://127.0.0.1:PORT.
	BaseURL string
	// Addr is 127.0.0.1:PORT.
	Addr string

	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu    sync.Mutex
	logs  []string
	watch []logWatch
}

type logWatch struct {
	substr string
	ch     chan struct{}
}

// StartOrders runs bin on a free loopback port with env added to a minimal
// environment and waits until /readyz answers 200.
func StartOrders(ctx context.Context, bin string, env []string) (*Process, error) {
	p, err := LaunchOrders(ctx, bin, env)
	if err != nil {
		return nil, err
	}
	if err := p.WaitReady(ctx, 60*time.Second); err != nil {
		_ = p.Kill()
		return nil, fmt.Errorf("orders did not become ready: %w\nlogs:\n%s", err, strings.Join(p.Logs(), "\n"))
	}
	return p, nil
}

// LaunchOrders runs bin like StartOrders but returns as soon as the process
// runs, ready or not; the caller ends it with Stop or Kill.
func LaunchOrders(ctx context.Context, bin string, env []string) (*Process, error) {
	port, err := FreePort(ctx)
	if err != nil {
		return nil, err
	}
	p := &Process{Addr: "127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	p.BaseURL = "http://" + p.Addr
	// The process outlives the start-up ctx; Stop and Kill end it.
	p.cmd = exec.CommandContext(context.WithoutCancel(ctx), bin) //nolint:gosec // the binary this package built
	p.cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HTTP_ADDR=" + p.Addr}, env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("orders stdout: %w", err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start orders: %w", err)
	}
	go p.collect(stdout)
	return p, nil
}

func (p *Process) collect(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.logs = append(p.logs, line)
		kept := p.watch[:0]
		for _, w := range p.watch {
			if strings.Contains(line, w.substr) {
				close(w.ch)
			} else {
				kept = append(kept, w)
			}
		}
		p.watch = kept
		p.mu.Unlock()
	}
	p.err = p.cmd.Wait()
	close(p.done)
}

// Logs returns the lines the process printed so far.
func (p *Process) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// LogSeen returns a channel closed when a log line containing substr appears
// (immediately if one already did).
func (p *Process) LogSeen(substr string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	for _, l := range p.logs {
		if strings.Contains(l, substr) {
			close(ch)
			return ch
		}
	}
	p.watch = append(p.watch, logWatch{substr, ch})
	return ch
}

// WaitReady polls /readyz until it answers 200.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return PollStatus(ctx, p.BaseURL+"/readyz", http.StatusOK, p.done)
}

// PollStatus polls url until it answers want, ctx ends or exited closes.
func PollStatus(ctx context.Context, url string, want int, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: want %d, last: %s: %w", url, want, last, ctx.Err())
		case <-exited:
			return fmt.Errorf("process exited while polling %s", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns its exit error.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("orders did not exit: %w", ctx.Err())
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *Process) Stop(ctx context.Context) error {
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal orders: %w", err)
	}
	return p.Wait(ctx)
}

// Kill ends the process at once and waits for it.
func (p *Process) Kill() error {
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

// FreePort returns a loopback TCP port nobody listens on (at the moment of
// the call), for a server the test starts or for a peer that is down.
func FreePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}
