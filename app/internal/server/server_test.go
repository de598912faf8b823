package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunShutdownSequence drives the lifecycle on a loopback listener: after
// cancellation the server reports draining but still serves during the
// drain delay, then finishes an in-flight request before returning.
func TestRunShutdownSequence(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Long enough that the request below lands inside it on a loaded
	// machine; the test only waits for it once.
	const drainDelay = 2 * time.Second
	ready := &Readiness{}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "done")
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fast") })
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, ln, Options{Handler: mux, Readiness: ready, DrainDelay: drainDelay,
			ShutdownTimeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	}()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second}

	slowBody := make(chan string, 1)
	go func() {
		resp, err := get(t, client, base+"/slow")
		if err != nil {
			slowBody <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slowBody <- string(b)
	}()
	<-entered
	if ready.ShuttingDown() {
		t.Fatal("draining before cancellation")
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for !ready.ShuttingDown() {
		if time.Now().After(deadline) {
			t.Fatal("not draining after cancellation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Still serving new requests during the drain delay.
	resp, err := get(t, client, base+"/fast")
	if err != nil {
		t.Fatalf("request during drain delay: %v", err)
	}
	_ = resp.Body.Close()
	// After the drain delay the listener closes while /slow is in flight:
	// poll for that with a deadline well past the delay (a loaded machine
	// may be slow to get there), never a fixed sleep.
	d := net.Dialer{Timeout: time.Second}
	deadline = time.Now().Add(drainDelay + 10*time.Second)
	for {
		c, err := d.DialContext(t.Context(), "tcp", ln.Addr().String())
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("listener still open %s after the drain delay of %s", 10*time.Second, drainDelay)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}
	close(release)
	if got := <-slowBody; got != "done" {
		t.Fatalf("in-flight request got %q, want done", got)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestRunShutdownTimeout(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	block := make(chan struct{})
	defer close(block)
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { close(entered); <-block })
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, ln, Options{Handler: h, Readiness: &Readiness{}, ShutdownTimeout: 200 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
	}()
	go func() {
		resp, err := get(t, http.DefaultClient, "http://"+ln.Addr().String())
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	select {
	case err := <-runErr:
		if err == nil || !strings.Contains(err.Error(), "graceful shutdown") {
			t.Fatalf("Run = %v, want a graceful shutdown timeout error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not give up after ShutdownTimeout")
	}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}
