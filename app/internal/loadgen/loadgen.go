// Package loadgen drives the orders API's main endpoints (create, get,
// list) with concurrent clients and measures throughput and latency. Every
// run is bounded in time and in request count, and creates its own data
// under a unique customer id.
package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options bound and shape a run.
type Options struct {
	// BaseURL of the service, such as http://127.0.0.1:8080.
	BaseURL string
	// Concurrency is the number of concurrent clients (default 8).
	Concurrency int
	// Duration stops the run after this long (default 10s).
	Duration time.Duration
	// MaxRequests stops the run after this many requests (default 100000).
	MaxRequests int
}

// Ops are the operations, in the order each client cycles through them:
// half of the requests write.
var Ops = []string{"create", "get", "create", "list"}

// Stats are one operation's (or all operations') figures.
type Stats struct {
	Requests int
	Errors   int
	P50, P99 time.Duration
	Max      time.Duration
}

// Result of a run.
type Result struct {
	Elapsed time.Duration
	Overall Stats
	PerOp   map[string]Stats
	// FirstError describes the first failed request, if any.
	FirstError string
}

// RequestsPerSecond is the overall throughput.
func (r Result) RequestsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Overall.Requests) / r.Elapsed.Seconds()
}

// String formats the figures for people and logs.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests=%d errors=%d elapsed=%s rps=%.1f p50=%s p99=%s max=%s\n",
		r.Overall.Requests, r.Overall.Errors, r.Elapsed.Round(time.Millisecond), r.RequestsPerSecond(),
		r.Overall.P50, r.Overall.P99, r.Overall.Max)
	names := make([]string, 0, len(r.PerOp))
	for n := range r.PerOp {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.PerOp[n]
		fmt.Fprintf(&b, "  %-6s requests=%d errors=%d p50=%s p99=%s max=%s\n", n, s.Requests, s.Errors, s.P50, s.P99, s.Max)
	}
	return b.String()
}

func (o *Options) validate() error {
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base URL %q must be an absolute http(s) URL such as http://127.0.0.1:8080", o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = 100000
	}
	switch {
	case o.Concurrency < 1 || o.Concurrency > 256:
		return fmt.Errorf("concurrency %d must be from 1 to 256", o.Concurrency)
	case o.Duration < 0 || o.Duration > time.Hour:
		return fmt.Errorf("duration %s must be at most 1h", o.Duration)
	case o.MaxRequests < 1:
		return fmt.Errorf("max requests %d must be positive", o.MaxRequests)
	}
	return nil
}

type sample struct {
	op  int
	d   time.Duration
	err error
}

// Run drives the load until the duration passes, MaxRequests have been sent
// or ctx ends.
func Run(ctx context.Context, opts Options) (Result, error) {
	if err := opts.validate(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	runID := make([]byte, 6)
	if _, err := rand.Read(runID); err != nil {
		return Result{}, fmt.Errorf("run id: %w", err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: opts.Concurrency, MaxConnsPerHost: opts.Concurrency}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	var budget atomic.Int64
	budget.Store(int64(opts.MaxRequests))
	samples := make([][]sample, opts.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < opts.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := worker{client: client, base: opts.BaseURL, customer: fmt.Sprintf("load-%s-%d", hex.EncodeToString(runID), w)}
			for i := 0; ctx.Err() == nil && budget.Add(-1) >= 0; i++ {
				op := i % len(Ops)
				t0 := time.Now()
				err := c.do(ctx, Ops[op])
				d := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					return // cut off by the deadline: not a service error
				}
				samples[w] = append(samples[w], sample{op, d, err})
			}
		}()
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), PerOp: map[string]Stats{}}
	var all []sample
	for _, s := range samples {
		all = append(all, s...)
	}
	res.Overall = stats(all, -1)
	for i, name := range Ops {
		if _, done := res.PerOp[name]; !done {
			res.PerOp[name] = stats(all, i)
		}
	}
	for _, s := range all {
		if s.err != nil {
			res.FirstError = s.err.Error()
			break
		}
	}
	return res, nil
}

// stats summarises the samples of operation op (all when op < 0; op indexes
// Ops, and every index with the same name counts).
func stats(all []sample, op int) Stats {
	var ds []time.Duration
	var st Stats
	for _, s := range all {
		if op >= 0 && Ops[s.op] != Ops[op] {
			continue
		}
		st.Requests++
		if s.err != nil {
			st.Errors++
		}
		ds = append(ds, s.d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	st.P50, st.P99 = Percentile(ds, 50), Percentile(ds, 99)
	if len(ds) > 0 {
		st.Max = ds[len(ds)-1]
	}
	return st
}

// Percentile returns the p-th percentile (nearest rank) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

type worker struct {
	client   *http.Client
	base     string
	customer string
	ids      []int64
	n        int
}

func (w *worker) do(ctx context.Context, op string) error {
	w.n++
	switch op {
	case "create":
		body := fmt.Sprintf(`{"customer_id":%q,"currency":"EUR","items":[{"sku":"load-%d","quantity":%d,"unit_price_cents":199}]}`,
			w.customer, w.n%7, w.n%5+1)
		var o struct {
			ID int64 `json:"id"`
		}
		if err := w.request(ctx, http.MethodPost, "/v1/orders", []byte(body), http.StatusCreated, &o); err != nil {
			return err
		}
		w.ids = append(w.ids, o.ID)
		return nil
	case "get":
		if len(w.ids) == 0 {
			return w.request(ctx, http.MethodGet, "/readyz", nil, http.StatusOK, nil)
		}
		id := w.ids[w.n%len(w.ids)]
		return w.request(ctx, http.MethodGet, fmt.Sprintf("/v1/orders/%d", id), nil, http.StatusOK, nil)
	default:
		return w.request(ctx, http.MethodGet, "/v1/orders?limit=20&customer_id="+url.QueryEscape(w.customer), nil, http.StatusOK, nil)
	}
}

func (w *worker) request(ctx context.Context, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// ErrFailures is returned by callers that treat failed requests as fatal.
var ErrFailures = errors.New("requests failed")
