// Package postgres starts a real, throwaway PostgreSQL server for tests and
// release rehearsals: initdb creates a fresh cluster in a temporary directory,
// the server is started on the requested addresses with password (SCRAM)
// authentication, and Stop removes every trace of it.
//
// The binaries come from Debian's postgresql package
// (/usr/lib/postgresql/<version>/bin). PostgreSQL refuses to run as root, so
// when the caller is root the server runs as the "postgres" system user.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the cluster's bootstrap superuser; Server.User is always it.
const superuser = "postgres"

// binGlob is where Debian's postgresql package installs the server binaries.
const binGlob = "/usr/lib/postgresql/*/bin"

// Options configure Start. The zero value is a server on 127.0.0.1, on a free
// port, with a random password.
type Options struct {
	// ListenAddresses are the IP addresses the server listens on; default
	// ["127.0.0.1"]. Pass a bridge address so other network namespaces can
	// reach the server.
	ListenAddresses []string
	// Port is the TCP port; 0 picks a free one.
	Port int
	// Password of the superuser; empty means a random one.
	Password string
	// BinDir overrides the directory holding initdb and postgres; empty
	// means the newest /usr/lib/postgresql/<version>/bin.
	BinDir string
}

// Server is a running PostgreSQL server.
type Server struct {
	// Host is the address clients dial: the first listen address, or
	// loopback when that is the unspecified address (0.0.0.0 or ::).
	Host string
	// Port is the TCP port the server listens on.
	Port int
	// User is the superuser ("postgres").
	User string
	// Password is the superuser's password.
	Password string
	// Database is the default database ("postgres").
	Database string

	binDir    string
	dir       string
	dataDir   string
	socketDir string
	logFile   string
	listen    []string
	cred      *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
}

// Start creates a fresh cluster in a temporary directory and starts a server
// on it, waiting until it accepts password-authenticated connections.
// Callers must call Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	listen := opts.ListenAddresses
	if len(listen) == 0 {
		listen = []string{"127.0.0.1"}
	}
	for _, a := range listen {
		if net.ParseIP(a) == nil {
			return nil, fmt.Errorf("start postgres: Options.ListenAddresses: %q is not an IP address", a)
		}
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("start postgres: Options.Port %d is out of range 0-65535", opts.Port)
	}
	password := opts.Password
	if password == "" {
		password, err = randomPassword()
		if err != nil {
			return nil, err
		}
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("start postgres: create temporary directory: %w", err)
	}
	host := listen[0]
	if ip := net.ParseIP(host); ip.IsUnspecified() {
		// Listening on every address: clients on this machine dial loopback.
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	s := &Server{
		Host:      host,
		User:      superuser,
		Password:  password,
		Database:  "postgres",
		binDir:    binDir,
		dir:       dir,
		dataDir:   filepath.Join(dir, "data"),
		socketDir: filepath.Join(dir, "sock"),
		logFile:   filepath.Join(dir, "postgres.log"),
		listen:    listen,
		cred:      cred,
	}
	if err := s.initCluster(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	// A free port is picked by binding and releasing it; another process may
	// take it in between, so a failed start on a picked port is retried.
	attempts := 1
	if opts.Port == 0 {
		attempts = 5
	}
	for i := 0; i < attempts; i++ {
		s.Port = opts.Port
		if s.Port == 0 {
			if s.Port, err = freePort(ctx, host); err != nil {
				break
			}
		}
		if err = s.start(ctx); err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

// ConnString is a libpq/pgx connection URL for database on the server's TCP
// address (sslmode=disable).
func (s *Server) ConnString(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(s.User, s.Password),
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down and removes its directory, data included.
func (s *Server) Stop(ctx context.Context) error {
	stopErr := s.stopProcess(ctx)
	if err := os.RemoveAll(s.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("stop postgres: remove %s: %w", s.dir, err))
	}
	return stopErr
}

// Pause stops the server but keeps its data, so Resume brings back the same
// databases on the same port; clients see an outage in between.
func (s *Server) Pause(ctx context.Context) error {
	return s.stopProcess(ctx)
}

// Resume starts a paused server again on the same port.
func (s *Server) Resume(ctx context.Context) error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("resume postgres: server is running")
	}
	return s.start(ctx)
}

// CreateDatabase creates an empty database owned by the superuser.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("create database: name is empty")
	}
	conn, err := pgx.Connect(ctx, s.ConnString(s.Database))
	if err != nil {
		return fmt.Errorf("create database %q: connect: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// findBinDir returns dir when set, otherwise the newest Debian
// /usr/lib/postgresql/<version>/bin holding initdb and postgres.
func findBinDir(dir string) (string, error) {
	need := []string{"initdb", "postgres"}
	check := func(d string) error {
		for _, n := range need {
			if _, err := os.Stat(filepath.Join(d, n)); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		return nil
	}
	if dir != "" {
		if err := check(dir); err != nil {
			return "", fmt.Errorf("start postgres: Options.BinDir %s lacks a PostgreSQL server binary: %w", dir, err)
		}
		return dir, nil
	}
	dirs, err := filepath.Glob(binGlob)
	if err != nil {
		return "", fmt.Errorf("start postgres: look for %s: %w", binGlob, err)
	}
	// Newest major version first (numeric, so 16 sorts after 9).
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if check(d) == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("start postgres: no PostgreSQL server binaries (initdb, postgres) in %s: "+
		"install the Debian package postgresql (apt-get install postgresql)", binGlob)
}

func version(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

// credential returns the postgres system user's credential when running as
// root (PostgreSQL refuses root), nil otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return nil, fmt.Errorf("start postgres: running as root needs the %q system user "+
			"(created by the Debian package postgresql): %w", superuser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("start postgres: uid of %q: %w", superuser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("start postgres: gid of %q: %w", superuser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("start postgres: random password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func freePort(ctx context.Context, host string) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("start postgres: pick a free port on %s: %w", host, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("start postgres: release picked port: %w", err)
	}
	return port, nil
}

// chown hands path to the server's user when running as root.
func (s *Server) chown(path string) error {
	if s.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		return fmt.Errorf("start postgres: chown %s: %w", path, err)
	}
	return nil
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, name), args...) //nolint:gosec // fixed binary names in the PostgreSQL bin dir
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + s.binDir + ":/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	return cmd
}

func (s *Server) initCluster(ctx context.Context) error {
	if err := s.chown(s.dir); err != nil {
		return err
	}
	if err := os.Mkdir(s.socketDir, 0o700); err != nil {
		return fmt.Errorf("start postgres: create socket directory: %w", err)
	}
	if err := s.chown(s.socketDir); err != nil {
		return err
	}
	pwFile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(s.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("start postgres: write password file: %w", err)
	}
	defer func() { _ = os.Remove(pwFile) }()
	if err := s.chown(pwFile); err != nil {
		return err
	}
	cmd := s.command(ctx, "initdb",
		"--pgdata="+s.dataDir, "--username="+superuser, "--pwfile="+pwFile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start postgres: initdb: %w\n%s", err, out)
	}
	// Password (SCRAM) authentication from any address the server listens
	// on, and over the private unix socket.
	hba := "local all all scram-sha-256\n" +
		"host all all 0.0.0.0/0 scram-sha-256\n" +
		"host all all ::/0 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(s.dataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return fmt.Errorf("start postgres: write pg_hba.conf: %w", err)
	}
	return s.chown(filepath.Join(s.dataDir, "pg_hba.conf"))
}

// start runs the postgres server as a child process and waits until it
// accepts connections.
func (s *Server) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start postgres: open log: %w", err)
	}
	// The server outlives ctx (which only bounds the start), so it is not
	// bound to ctx.
	cmd := s.command(context.WithoutCancel(ctx), "postgres",
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses="+strings.Join(s.listen, ","),
		"-c", "unix_socket_directories="+s.socketDir,
		"-c", "max_connections=200",
		"-c", "shared_buffers=64MB",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off",
	)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		_ = logf.Close()
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	if err := s.waitReady(ctx, done); err != nil {
		_ = s.stopProcess(context.WithoutCancel(ctx))
		return fmt.Errorf("start postgres on port %d: %w\n%s", s.Port, err, s.logTail())
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, done <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		select {
		case err := <-done:
			// Put it back so stopProcess sees the exit.
			s.mu.Lock()
			ch := make(chan error, 1)
			ch <- err
			s.done = ch
			s.mu.Unlock()
			return fmt.Errorf("server exited: %w", err)
		default:
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.ConnString(s.Database))
		if err == nil {
			_ = conn.Close(cctx)
			ccancel()
			return nil
		}
		ccancel()
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last: %w)", ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopProcess asks the server for a fast shutdown and waits; it escalates to
// an immediate shutdown and then SIGKILL when the server does not exit.
func (s *Server) stopProcess(ctx context.Context) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, 30 * time.Second},  // fast shutdown
		{syscall.SIGQUIT, 10 * time.Second}, // immediate shutdown
		{syscall.SIGKILL, 10 * time.Second},
	}
	for _, st := range steps {
		if err := cmd.Process.Signal(st.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop postgres: signal %v: %w", st.sig, err)
		}
		select {
		case werr := <-done:
			_ = werr // a signalled server may exit non-zero; it has stopped, which is what was asked
			return nil
		case <-time.After(st.wait):
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			werr := <-done
			return fmt.Errorf("stop postgres: %w (server exit: %w)", ctx.Err(), werr)
		}
	}
	return errors.New("stop postgres: server did not exit after SIGKILL")
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
