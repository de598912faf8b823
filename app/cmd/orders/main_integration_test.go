//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/go-aks/pipeline/app/internal/servicetest"
	"github.com/go-aks/pipeline/internal/testenv/postgres"
)

// binary is the orders binary built once for all tests of this package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orders-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	binary, err = servicetest.BuildOrders(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type order struct {
	ID         int64  `json:"id"`
	CustomerID string `json:"customer_id"`
	TotalCents int64  `json:"total_cents"`
}

func newOrderBody(customer string) []byte {
	return []byte(fmt.Sprintf(`{"customer_id":%q,"currency":"EUR","items":[{"sku":"sku-1","quantity":2,"unit_price_cents":250}]}`, customer))
}

func do(t *testing.T, c *http.Client, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// startService starts a throwaway PostgreSQL (the outage test stops and
// starts it, so it cannot use an external database given by TEST_DB_*) and
// the binary.
func startService(t *testing.T, ctx context.Context, extraEnv ...string) (servicetest.DB, *servicetest.Process) {
	t.Helper()
	db, err := servicetest.StartDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Server.Stop(context.WithoutCancel(ctx)) })
	env := append(db.Env(), "SHUTDOWN_DRAIN_DELAY=0s", "REQUEST_TIMEOUT=2s")
	p, err := servicetest.StartOrders(ctx, binary, append(env, extraEnv...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	return db, p
}

// TestDatabaseOutage stops PostgreSQL under the running service: /readyz
// and writes answer 503 while it is down, and once it is back the same
// process serves again without a restart. The password never appears in
// the service's logs, even with the database failing.
func TestDatabaseOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, p := startService(t, ctx)
	c := &http.Client{Timeout: 10 * time.Second}

	code, body := do(t, c, http.MethodPost, p.BaseURL+"/v1/orders", newOrderBody("outage-before"))
	if code != http.StatusCreated {
		t.Fatalf("create before outage: %d %s", code, body)
	}
	var before order
	if err := json.Unmarshal(body, &before); err != nil {
		t.Fatal(err)
	}

	if err := db.Server.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, c, http.MethodGet, p.BaseURL+"/readyz", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database stopped: %d %s, want 503", code, body)
	}
	code, body = do(t, c, http.MethodPost, p.BaseURL+"/v1/orders", newOrderBody("outage-during"))
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) {
		t.Fatalf("create with the database stopped: %d %s, want 503 with a JSON error", code, body)
	}
	if code, _ := do(t, c, http.MethodGet, fmt.Sprintf("%s/v1/orders/%d", p.BaseURL, before.ID), nil); code != http.StatusServiceUnavailable {
		t.Fatalf("get with the database stopped: %d, want 503", code)
	}
	if code, _ := do(t, c, http.MethodGet, p.BaseURL+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz (liveness) with the database stopped: %d, want 200: an outage must not restart pods", code)
	}

	if err := db.Server.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	if err := servicetest.PollStatus(rctx, p.BaseURL+"/readyz", http.StatusOK, p.Exited()); err != nil {
		t.Fatalf("service did not recover after the database returned: %v", err)
	}
	code, body = do(t, c, http.MethodPost, p.BaseURL+"/v1/orders", newOrderBody("outage-after"))
	if code != http.StatusCreated {
		t.Fatalf("create after recovery: %d %s", code, body)
	}
	if code, body := do(t, c, http.MethodGet, fmt.Sprintf("%s/v1/orders/%d", p.BaseURL, before.ID), nil); code != http.StatusOK {
		t.Fatalf("get after recovery: %d %s", code, body)
	}

	if err := p.Stop(ctx); err != nil {
		t.Fatalf("orders did not exit cleanly: %v", err)
	}
	logs := strings.Join(p.Logs(), "\n")
	if strings.Contains(logs, db.Password) {
		t.Fatal("the database password appears in the service's logs")
	}
	if !strings.Contains(logs, "database unavailable") {
		t.Fatalf("the outage was not logged:\n%s", logs)
	}
	// Every log line is JSON, and request logs carry the trace id.
	sawTrace := false
	for _, l := range p.Logs() {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if rec["msg"] == "request" && rec["trace_id"] != nil && rec["span_id"] != nil {
			sawTrace = true
		}
	}
	if !sawTrace {
		t.Fatalf("no request log line carries trace_id and span_id:\n%s", logs)
	}
}

// TestPasswordFromFile runs the service with DB_PASSWORD_FILE, as the
// Kubernetes secret or Key Vault CSI volume delivers it.
func TestPasswordFromFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, stopDB, err := servicetest.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stopDB()
	file := t.TempDir() + "/password"
	if err := os.WriteFile(file, []byte(db.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range db.Env() {
		if !strings.HasPrefix(kv, "DB_PASSWORD=") {
			env = append(env, kv)
		}
	}
	p, err := servicetest.StartOrders(ctx, binary, append(env, "DB_PASSWORD_FILE="+file, "SHUTDOWN_DRAIN_DELAY=0s"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Kill() }()
	if code, body := do(t, &http.Client{Timeout: 10 * time.Second}, http.MethodPost, p.BaseURL+"/v1/orders", newOrderBody("file-pw")); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(p.Logs(), "\n"), db.Password) {
		t.Fatal("the database password appears in the service's logs")
	}
}

// TestStartsBeforeDatabase starts the service while its database is still
// down, as when both start together in a cluster: it retries and serves once
// PostgreSQL comes up.
func TestStartsBeforeDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port, err := servicetest.FreePort(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const password = "late-db-password"
	env := []string{"DB_HOST=127.0.0.1", fmt.Sprintf("DB_PORT=%d", port), "DB_NAME=postgres", "DB_USER=postgres",
		"DB_PASSWORD=" + password, "DB_SSLMODE=disable", "DB_STARTUP_TIMEOUT=60s", "SHUTDOWN_DRAIN_DELAY=0s"}
	p, err := servicetest.LaunchOrders(ctx, binary, env)
	if err != nil {
		t.Fatal(err)
	}
	// Ended on every path, PostgreSQL failing to start included.
	defer func() { _ = p.Kill() }()
	// Wait (with a deadline, not a fixed sleep) until the service says it
	// is retrying: only then is the database really late.
	select {
	case <-p.LogSeen("database not reachable yet, retrying"):
	case <-p.Exited():
		t.Fatalf("the service exited while its database was down:\n%s", strings.Join(p.Logs(), "\n"))
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not report waiting for the database within 30s:\n%s", strings.Join(p.Logs(), "\n"))
	}
	srv, err := postgres.Start(ctx, postgres.Options{Port: port, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop(context.WithoutCancel(ctx)) }()
	if err := p.WaitReady(ctx, 60*time.Second); err != nil {
		t.Fatalf("service did not become ready after the database came up: %v\nlogs:\n%s", err, strings.Join(p.Logs(), "\n"))
	}
	if code, body := do(t, &http.Client{Timeout: 10 * time.Second}, http.MethodPost, p.BaseURL+"/v1/orders", newOrderBody("late-db")); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
}

// TestBadConfigurationExits checks that the binary refuses to start with a
// clear error naming the variable, without echoing the password.
func TestBadConfigurationExits(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no database host", []string{"DB_NAME=x", "DB_USER=u", "DB_PASSWORD=pw-secret-1"}, "DB_HOST is required"},
		{"bad port", []string{"DB_HOST=127.0.0.1", "DB_PORT=99999", "DB_NAME=x", "DB_USER=u", "DB_PASSWORD=pw-secret-1"}, "DB_PORT"},
		{"database unreachable at start", []string{"DB_HOST=127.0.0.1", "DB_PORT=1", "DB_NAME=x", "DB_USER=u", "DB_PASSWORD=pw-secret-1",
			"DB_SSLMODE=disable", "DB_STARTUP_TIMEOUT=1s", "HTTP_ADDR=127.0.0.1:0"}, "not reachable within DB_STARTUP_TIMEOUT=1s"},
		{"both passwords", []string{"DB_HOST=127.0.0.1", "DB_NAME=x", "DB_USER=u", "DB_PASSWORD=pw-secret-1", "DB_PASSWORD_FILE=/nonexistent"}, "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := execCommand(ctx, binary, tt.env)
			out, err := cmd.CombinedOutput()
			var ee interface{ ExitCode() int }
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("orders exited with %v, want a non-zero exit; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Fatalf("output %q does not name %q", out, tt.want)
			}
			if strings.Contains(string(out), "pw-secret-1") {
				t.Fatalf("output reveals the password: %s", out)
			}
		})
	}
}

// TestGracefulShutdownUnderLoad sends SIGTERM while clients keep the
// service busy and shows that no request the service accepted is dropped.
//
// To make sure requests are really in flight when the listener closes, the
// test holds a lock on the orders table: requests pile up inside the
// service, SIGTERM arrives, readiness turns false, the drain delay passes,
// the listener closes (new connections are refused), and only then is the
// lock released. Every request must end in a 2xx; the only permitted client
// error is a refused connection, i.e. a request the service never accepted.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, stopDB, err := servicetest.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stopDB()
	const drain = 1500 * time.Millisecond
	p, err := servicetest.StartOrders(ctx, binary, append(db.Env(),
		"SHUTDOWN_DRAIN_DELAY="+drain.String(), "SHUTDOWN_TIMEOUT=30s", "REQUEST_TIMEOUT=20s", "DB_MAX_CONNS=20"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Kill() }()

	type result struct {
		start, end time.Time
		status     int
		err        error
	}
	var (
		mu       sync.Mutex
		results  []result
		stopLoad atomic.Bool
		wg       sync.WaitGroup
	)
	const workers = 12
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for i := 0; !stopLoad.Load(); i++ {
				var req *http.Request
				switch i % 3 {
				case 0:
					req, _ = http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+"/v1/orders", bytes.NewReader(newOrderBody(fmt.Sprintf("sigterm-%d", w))))
					req.Header.Set("Content-Type", "application/json")
				case 1:
					req, _ = http.NewRequestWithContext(ctx, http.MethodGet, p.BaseURL+"/v1/orders?limit=5", nil)
				default:
					req, _ = http.NewRequestWithContext(ctx, http.MethodGet, p.BaseURL+"/v1/orders/1", nil)
				}
				r := result{start: time.Now()}
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					r.status = resp.StatusCode
				}
				r.end, r.err = time.Now(), err
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if errors.Is(err, syscall.ECONNREFUSED) {
					return // the service is gone: like a load balancer, stop sending
				}
			}
		}()
	}

	// Load until every worker has had a request served, then block the
	// table so requests stay in flight.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		served := 0
		for _, r := range results {
			if r.err == nil && r.status >= 200 && r.status < 300 {
				served++
			}
		}
		mu.Unlock()
		if served >= workers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests served within 30s of load", served)
		}
		time.Sleep(20 * time.Millisecond)
	}
	lockConn, err := pgx.Connect(ctx, db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lockConn.Close(context.Background()) }()
	tx, err := lockConn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// Wait until every worker's request is blocked on the lock inside the
	// service (seen from PostgreSQL), not for a guessed while.
	waitBlocked(ctx, t, db.ConnString(), workers)

	closing := p.LogSeen("closing listener")
	sigAt := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the drain delay the service is unready but still serving.
	uctx, ucancel := context.WithTimeout(ctx, drain)
	err = servicetest.PollStatus(uctx, p.BaseURL+"/readyz", http.StatusServiceUnavailable, p.Exited())
	ucancel()
	if err != nil {
		t.Fatalf("/readyz did not turn unready during the drain delay after SIGTERM: %v", err)
	}
	select {
	case <-closing:
	case <-ctx.Done():
		t.Fatal("the service never closed its listener")
	}
	// Wait until new connections are refused: the listener is closed.
	deadline = time.Now().Add(10 * time.Second)
	for {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", p.Addr)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepts connections after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	closedAt := time.Now()
	if err := tx.Commit(ctx); err != nil { // release the lock: the blocked requests complete
		t.Fatal(err)
	}
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("orders exited with %v, want a clean exit", err)
	}
	stopLoad.Store(true)
	wg.Wait()

	var ok, refused, inFlightAtClose, afterSigterm int
	var failures []string
	for _, r := range results {
		switch {
		case r.err == nil && r.status >= 200 && r.status < 300:
			ok++
			if r.start.Before(closedAt) && r.end.After(closedAt) {
				inFlightAtClose++
			}
			if r.start.After(sigAt) {
				afterSigterm++
			}
		case errors.Is(r.err, syscall.ECONNREFUSED):
			refused++
		default:
			failures = append(failures, fmt.Sprintf("status=%d err=%v started %v after SIGTERM", r.status, r.err, r.start.Sub(sigAt)))
		}
	}
	t.Logf("requests: %d succeeded (%d in flight when the listener closed, %d started after SIGTERM), %d refused after close, %d failed",
		ok, inFlightAtClose, afterSigterm, refused, len(failures))
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during shutdown:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	if inFlightAtClose < workers/2 {
		t.Fatalf("only %d requests were in flight when the listener closed; the test did not exercise draining", inFlightAtClose)
	}
	if refused == 0 {
		t.Fatal("no request was refused after shutdown: the clients never saw the service stop")
	}
}

// waitBlocked polls PostgreSQL until at least n sessions of the database
// connString names wait on a lock, failing the test after 30 seconds.
func waitBlocked(ctx context.Context, t *testing.T, connString string, n int) {
	t.Helper()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatalf("count sessions waiting on the lock: %v", err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests blocked on the orders lock within 30s", waiting, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
