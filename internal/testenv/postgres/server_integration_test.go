//go:build integration

package postgres

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestServerLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	s, err := Start(ctx, Options{Password: "s3cret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop(context.Background())
		}
	})
	if s.Host != "127.0.0.1" || s.Port == 0 || s.User != "postgres" || s.Password != "s3cret-pw" || s.Database != "postgres" {
		t.Fatalf("unexpected server fields: %+v", s)
	}

	// Password authentication is enforced: a wrong password is refused.
	bad := &Server{Host: s.Host, Port: s.Port, User: s.User, Password: "wrong"}
	if c, err := pgx.Connect(ctx, bad.ConnString("postgres")); err == nil {
		_ = c.Close(ctx)
		t.Fatal("connect with a wrong password succeeded")
	}

	if err := s.CreateDatabase(ctx, "orders_test"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.ConnString("orders_test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	// Pause: the port refuses connections; Resume: the data is still there.
	if err := s.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Timeout: time.Second}
	if c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port))); err == nil {
		_ = c.Close()
		t.Fatal("paused server still accepts TCP connections")
	}
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, s.ConnString("orders_test"))
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after resume: v=%d err=%v", v, err)
	}
	_ = conn.Close(ctx)

	dir := s.dir
	stopped = true
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data directory %s still exists after Stop: %v", dir, err)
	}
	if c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port))); err == nil {
		_ = c.Close()
		t.Fatal("stopped server still accepts TCP connections")
	}
}

func TestStartOnFixedPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port, err := freePort(ctx, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	if s.Port != port || len(s.Password) < 16 {
		t.Fatalf("port=%d (want %d), random password length %d", s.Port, port, len(s.Password))
	}
	// A second server on the same port fails with a clear error and leaves nothing behind.
	if s2, err := Start(ctx, Options{Port: port}); err == nil {
		_ = s2.Stop(ctx)
		t.Fatal("second server on the same port started")
	}
}

func TestListenOnAllAddresses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{ListenAddresses: []string{"0.0.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.WithoutCancel(ctx)) }()
	if s.Host != "127.0.0.1" {
		t.Fatalf("Host = %q, want 127.0.0.1 for a wildcard listen address", s.Host)
	}
	conn, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
}
