//go:build e2e

package rehearsal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-aks/pipeline/internal/testenv/env"
)

// probe reads an order from a Service in a loop, each request on a new
// connection (so every ready endpoint gets its share), recording failures.
type probe struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	res    probeResult
}

type probeResult struct {
	requests int
	failures []string
}

func startProbe(ctx context.Context, base string) (*probe, error) {
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	body, _ := json.Marshal(map[string]any{"customer_id": "probe", "currency": "EUR",
		"items": []map[string]any{{"sku": "sku-probe", "quantity": 1, "unit_price_cents": 100}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/orders", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("probe: create an order: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || loc == "" {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("probe: create an order: %s %s", resp.Status, b)
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &probe{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
			}
			failure := get(pctx, client, base+loc)
			if pctx.Err() != nil {
				return // stopped mid-request: not a failure of the service
			}
			p.mu.Lock()
			p.res.requests++
			if failure != "" {
				p.res.failures = append(p.res.failures, time.Now().Format("15:04:05.000")+" "+failure)
			}
			p.mu.Unlock()
		}
	}()
	return p, nil
}

func get(ctx context.Context, client *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "GET " + url + ": " + resp.Status
	}
	return ""
}

// requests is the number of requests made so far.
func (p *probe) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res.requests
}

// probeProduction starts a probe of the orders service in production.
func probeProduction(ctx context.Context, t *testing.T) *probe {
	t.Helper()
	url, err := r.ServiceURL(ctx, orders, env.Production)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProbe(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// more waits, with a deadline, until the probe has made n more requests
// (to keep probing a little after something happened).
func (p *probe) more(ctx context.Context, n int) error {
	want := p.requests() + n
	return poll(ctx, time.Minute, func() bool { return p.requests() >= want })
}

func (p *probe) stop() probeResult {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res
}
