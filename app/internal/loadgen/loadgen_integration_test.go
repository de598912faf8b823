//go:build integration

package loadgen

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-aks/pipeline/app/internal/servicetest"
)

// startService runs the orders binary against the integration database.
func startService(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	db, stopDB, err := servicetest.Database(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stopDB)
	bin, err := servicetest.BuildOrders(ctx, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	p, err := servicetest.StartOrders(ctx, bin, append(db.Env(), "SHUTDOWN_DRAIN_DELAY=0s", "LOG_LEVEL=warn", "DB_MAX_CONNS=16"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Kill() })
	return p.BaseURL
}

func TestRunAgainstService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := startService(t, ctx)
	res, err := Run(ctx, Options{BaseURL: base, Concurrency: 4, Duration: 30 * time.Second, MaxRequests: 400})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Overall.Requests != 400 || res.Overall.Errors != 0 {
		t.Fatalf("requests=%d errors=%d (first: %s), want 400 without errors", res.Overall.Requests, res.Overall.Errors, res.FirstError)
	}
	c, g, l := res.PerOp["create"].Requests, res.PerOp["get"].Requests, res.PerOp["list"].Requests
	if c+g+l != 400 || c < 180 || g < 80 || l < 80 {
		t.Fatalf("operation mix = %+v", res.PerOp)
	}
	if res.Overall.P50 <= 0 || res.Overall.P99 < res.Overall.P50 || res.Overall.Max < res.Overall.P99 {
		t.Fatalf("inconsistent latencies: %+v", res.Overall)
	}
}

// BenchmarkOrdersAPI is the service's load figure: the real binary on the
// real database, create/get/create/list from LOAD_CONCURRENCY (8) clients.
// b.N is the number of requests. Run:
//
//	go test -tags integration -run '^$' -bench OrdersAPI -benchtime 20000x ./app/internal/loadgen/
func BenchmarkOrdersAPI(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base := startService(b, ctx)
	conc := 8
	if v := os.Getenv("LOAD_CONCURRENCY"); v != "" {
		var err error
		if conc, err = strconv.Atoi(v); err != nil {
			b.Fatalf("LOAD_CONCURRENCY=%q: %v", v, err)
		}
	}
	// Warm up connections and caches.
	if _, err := Run(ctx, Options{BaseURL: base, Concurrency: conc, MaxRequests: 200, Duration: time.Minute}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := Run(ctx, Options{BaseURL: base, Concurrency: conc, MaxRequests: b.N, Duration: 5 * time.Minute})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Overall.Errors > 0 {
		b.Fatalf("%d of %d requests failed; first: %s", res.Overall.Errors, res.Overall.Requests, res.FirstError)
	}
	b.ReportMetric(res.RequestsPerSecond(), "req/s")
	b.ReportMetric(float64(res.Overall.P50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(res.Overall.P99.Microseconds())/1000, "p99_ms")
	b.Log("\n" + res.String())
}
