package deploy

import (
	"math"
	"strings"
	"testing"
)

// scrape builds a /metrics page the way the service's client library writes it.
func scrape(okV1, errV1, probes float64, buckets map[string]float64) string {
	var b strings.Builder
	b.WriteString("# HELP http_requests_total HTTP requests served.\n# TYPE http_requests_total counter\n")
	b.WriteString(`http_requests_total{code="200",method="GET",route="/v1/orders/{id}"} ` + num(okV1) + "\n")
	b.WriteString(`http_requests_total{code="500",method="POST",route="/v1/orders"} ` + num(errV1) + "\n")
	b.WriteString(`http_requests_total{code="404",method="GET",route="unmatched"} 0` + "\n")
	b.WriteString(`http_requests_total{code="200",method="GET",route="/readyz"} ` + num(probes) + "\n")
	b.WriteString(`http_requests_total{code="503",method="GET",route="/healthz"} ` + num(probes) + "\n")
	b.WriteString("# HELP http_request_duration_seconds latency\n# TYPE http_request_duration_seconds histogram\n")
	total := 0.0
	for _, le := range []string{"0.005", "0.01", "0.025", "0.1"} {
		total = buckets[le]
		b.WriteString(`http_request_duration_seconds_bucket{code="200",method="GET",route="/v1/orders/{id}",le="` + le + `"} ` + num(total) + "\n")
	}
	b.WriteString(`http_request_duration_seconds_bucket{code="200",method="GET",route="/v1/orders/{id}",le="+Inf"} ` + num(total) + "\n")
	b.WriteString(`http_request_duration_seconds_sum{code="200",method="GET",route="/v1/orders/{id}"} 1` + "\n")
	b.WriteString(`http_request_duration_seconds_count{code="200",method="GET",route="/v1/orders/{id}"} ` + num(total) + "\n")
	b.WriteString(`http_request_duration_seconds_bucket{code="200",method="GET",route="/readyz",le="+Inf"} ` + num(probes) + "\n")
	b.WriteString(`http_request_duration_seconds_count{code="200",method="GET",route="/readyz"} ` + num(probes) + "\n")
	return b.String()
}

func TestParseTrafficLeavesProbesOut(t *testing.T) {
	tr, err := parseTraffic(strings.NewReader(scrape(70, 30, 1000, map[string]float64{"0.005": 50, "0.01": 90, "0.025": 99, "0.1": 100})))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Requests != 100 || tr.Errors != 30 {
		t.Fatalf("requests %v errors %v, want 100 and 30 (probe routes left out)", tr.Requests, tr.Errors)
	}
	if got := tr.ErrorRatio(); got != 0.3 {
		t.Fatalf("error ratio %v", got)
	}
	if got := tr.Buckets[math.Inf(1)]; got != 100 {
		t.Fatalf("+Inf bucket %v, want 100 (probes left out)", got)
	}
}

func TestParseTrafficNeedsRequestCounter(t *testing.T) {
	_, err := parseTraffic(strings.NewReader("# TYPE go_goroutines gauge\ngo_goroutines 7\n"))
	if err == nil || !strings.Contains(err.Error(), "lack http_requests_total") {
		t.Fatalf("err = %v, want the missing counter named", err)
	}
	_, err = parseTraffic(strings.NewReader("not { metrics"))
	if err == nil || !strings.Contains(err.Error(), "parse metrics") {
		t.Fatalf("err = %v, want a parse error", err)
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name    string
		buckets map[float64]float64
		q, want float64
	}{
		{"interpolated in the first bucket", map[float64]float64{0.01: 100, math.Inf(1): 100}, 0.5, 0.005},
		{"interpolated in a later bucket", map[float64]float64{0.01: 50, 0.1: 100, math.Inf(1): 100}, 0.99, 0.01 + 0.09*49.0/50},
		{"rank in +Inf: highest finite bound", map[float64]float64{0.01: 10, math.Inf(1): 100}, 0.99, 0.01},
		{"no observations", map[float64]float64{0.01: 0, math.Inf(1): 0}, 0.99, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := traffic{Buckets: tt.buckets}.Quantile(tt.q)
			if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-9) {
				t.Fatalf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestSinceHandlesRestarts(t *testing.T) {
	before := traffic{Requests: 100, Errors: 10, Buckets: map[float64]float64{math.Inf(1): 100}}
	after := traffic{Requests: 150, Errors: 11, Buckets: map[float64]float64{math.Inf(1): 150}}
	if d := after.since(before); d.Requests != 50 || d.Errors != 1 || d.Buckets[math.Inf(1)] != 50 {
		t.Fatalf("increase %+v", d)
	}
	restarted := traffic{Requests: 20, Errors: 20, Buckets: map[float64]float64{math.Inf(1): 20}}
	if d := restarted.since(before); d.Requests != 20 || d.Errors != 20 {
		t.Fatalf("after a restart the counters count from zero: %+v", d)
	}
}

func fast(n, errs float64) traffic {
	return traffic{Requests: n, Errors: errs, Buckets: map[float64]float64{0.005: n * 0.9, 0.01: n, math.Inf(1): n}}
}

func slow(n float64) traffic {
	return traffic{Requests: n, Buckets: map[float64]float64{0.005: 0, 0.25: n * 0.5, 0.5: n, math.Inf(1): n}}
}

func TestJudge(t *testing.T) {
	th := Thresholds{MaxErrorRatio: 0.01, MaxP99Ratio: 1.5, LatencyFloorSeconds: 0.010, MinRequests: 100}
	tests := []struct {
		name           string
		canary, stable traffic
		final          bool
		want           Verdict
		wantReason     string
	}{
		{"a third 5xx fails early", fast(150, 45), fast(450, 0), false, VerdictFail, "canary error ratio 30.0% (45 of 150 requests 5xx), stable 0.0% (0 of 450)"},
		{"errors before the minimum count wait", fast(50, 40), fast(450, 0), false, VerdictContinue, "canary error ratio 80.0%"},
		{"same error ratio as stable passes", fast(300, 9), fast(900, 27), true, VerdictPass, "canary error ratio 3.0%"},
		{"one point above stable is allowed", fast(1000, 10), fast(1000, 0), true, VerdictPass, "canary error ratio 1.0%"},
		{"past one point above stable fails", fast(1000, 11), fast(1000, 0), true, VerdictFail, "more than 1.0% above the stable pods'"},
		{"too little traffic fails", fast(99, 0), fast(1000, 0), true, VerdictFail, "served 99 requests in the analysis window, fewer than --canary-min-requests 100"},
		{"no traffic fails", traffic{}, traffic{}, true, VerdictFail, "served 0 requests"},
		{"much slower fails", slow(300), fast(900, 0), true, VerdictFail, "p99 latency canary 495.0ms, stable 9.5ms: more than 1.50 times"},
		{"slower within the floor passes", fast(300, 0), traffic{Requests: 900, Buckets: map[float64]float64{0.005: 900, 0.01: 900, math.Inf(1): 900}}, true, VerdictPass, "p99 latency canary 9.5ms, stable 5.0ms"},
		{"little stable traffic: canary judged alone", fast(300, 0), fast(10, 0), true, VerdictPass, "latency not compared"},
		{"little stable traffic: canary errors still fail", fast(300, 30), fast(10, 0), false, VerdictFail, "canary error ratio 10.0%"},
		{"mid-window good canary continues", fast(300, 0), fast(900, 0), false, VerdictContinue, "canary error ratio 0.0%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, reason := judge(tt.canary, tt.stable, th, tt.final)
			if v != tt.want || !strings.Contains(reason, tt.wantReason) {
				t.Fatalf("judge = %s, %q; want %s with %q", v, reason, tt.want, tt.wantReason)
			}
		})
	}
}
