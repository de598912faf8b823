package deploy

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The canary is judged by the service's own HTTP metrics, the names the
// Prometheus client libraries' HTTP instrumentation uses:
// http_requests_total{code,route,...} and the histogram
// http_request_duration_seconds. Probe and scrape routes (kubelet probes,
// the metrics scrape itself) are not traffic and are left out, or they
// would dilute the error ratio and fill the minimum request count.
const (
	requestsMetric = "http_requests_total"
	durationMetric = "http_request_duration_seconds"
)

var notTraffic = map[string]bool{"/healthz": true, "/readyz": true, "/livez": true, "/metrics": true}

// traffic is what a set of pods served: requests, 5xx answers and the latency
// histogram (cumulative counts by upper bound), as counters since start or
// as the increase over a window.
type traffic struct {
	Requests float64
	Errors   float64
	// Buckets maps a bucket's upper bound (le) to its cumulative count.
	Buckets map[float64]float64
}

// parseTraffic reads one scrape in the Prometheus text format.
func parseTraffic(r io.Reader) (traffic, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return traffic{}, fmt.Errorf("parse metrics: %w", err)
	}
	t := traffic{Buckets: map[float64]float64{}}
	req, ok := fams[requestsMetric]
	if !ok {
		return traffic{}, fmt.Errorf("the metrics lack %s: the service must count its requests by code (and %s for latency)", requestsMetric, durationMetric)
	}
	for _, m := range req.GetMetric() {
		l := labelsOf(m)
		if notTraffic[l["route"]] {
			continue
		}
		v := m.GetCounter().GetValue()
		t.Requests += v
		if strings.HasPrefix(l["code"], "5") {
			t.Errors += v
		}
	}
	if dur, ok := fams[durationMetric]; ok {
		for _, m := range dur.GetMetric() {
			if notTraffic[labelsOf(m)["route"]] {
				continue
			}
			inf := false
			for _, b := range m.GetHistogram().GetBucket() {
				t.Buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
				inf = inf || math.IsInf(b.GetUpperBound(), 1)
			}
			if !inf { // the +Inf bucket is the sample count
				t.Buckets[math.Inf(1)] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return t, nil
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// since is the increase from before to t, for one process. A counter that
// went down means the process restarted: its counts since then are all new.
func (t traffic) since(before traffic) traffic {
	if t.Requests < before.Requests {
		return t
	}
	out := traffic{Requests: t.Requests - before.Requests, Errors: t.Errors - before.Errors, Buckets: map[float64]float64{}}
	for le, c := range t.Buckets {
		out.Buckets[le] = c - before.Buckets[le]
	}
	return out
}

func (t traffic) add(o traffic) traffic {
	out := traffic{Requests: t.Requests + o.Requests, Errors: t.Errors + o.Errors, Buckets: map[float64]float64{}}
	for le, c := range t.Buckets {
		out.Buckets[le] += c
	}
	for le, c := range o.Buckets {
		out.Buckets[le] += c
	}
	return out
}

// ErrorRatio is the share of requests answered with 5xx (0 without requests).
func (t traffic) ErrorRatio() float64 {
	if t.Requests == 0 {
		return 0
	}
	return t.Errors / t.Requests
}

// Quantile estimates the q-quantile of the latency the way PromQL's
// histogram_quantile does: linear interpolation inside the bucket that holds
// the rank; the highest finite bound when the rank falls in +Inf. NaN without
// observations.
func (t traffic) Quantile(q float64) float64 {
	bounds := make([]float64, 0, len(t.Buckets))
	for le := range t.Buckets {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return math.NaN()
	}
	total := t.Buckets[bounds[len(bounds)-1]]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for _, le := range bounds {
		c := t.Buckets[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevBound
			}
			if c == prevCount {
				return le
			}
			return prevBound + (le-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = le, c
	}
	return prevBound
}

// Thresholds decide a canary analysis.
type Thresholds struct {
	// MaxErrorRatio is how much higher than the stable pods' 5xx ratio the
	// canary's may be (0.01: one percentage point).
	MaxErrorRatio float64
	// MaxP99Ratio is how many times the stable pods' p99 latency the
	// canary's may be (1.5). Differences below LatencyFloor never fail.
	MaxP99Ratio float64
	// LatencyFloor is the p99 difference below which latency never fails a
	// canary (noise at millisecond latencies). Default 10ms.
	LatencyFloorSeconds float64
	// MinRequests is the traffic the canary must have served in the window
	// for any verdict but a failure: too little traffic fails the canary.
	MinRequests int
}

// Verdict of one look at the canary.
type Verdict string

// Verdicts.
const (
	VerdictContinue Verdict = "continue"
	VerdictPass     Verdict = "pass"
	VerdictFail     Verdict = "fail"
)

// judge compares the canary's traffic with the stable pods' over the same
// time. Mid-window (final false) it only fails early, once the canary has the
// minimum request count and its error ratio is already past the threshold;
// at the end of the window it passes or fails. The reason states the
// measured figures either way.
func judge(canary, stable traffic, th Thresholds, final bool) (Verdict, string) {
	cr, sr := canary.ErrorRatio(), stable.ErrorRatio()
	stableKnown := stable.Requests >= float64(th.MinRequests)
	base := sr
	if !stableKnown {
		base = 0 // too little stable traffic to compare with: judge the canary alone
	}
	errLine := fmt.Sprintf("canary error ratio %s (%s of %s requests 5xx), stable %s (%s of %s)",
		pct(cr), num(canary.Errors), num(canary.Requests), pct(sr), num(stable.Errors), num(stable.Requests))
	if canary.Requests >= float64(th.MinRequests) && cr > base+th.MaxErrorRatio {
		return VerdictFail, fmt.Sprintf("%s: more than %s above the stable pods' (--canary-max-error-ratio)", errLine, pct(th.MaxErrorRatio))
	}
	if !final {
		return VerdictContinue, errLine
	}
	if canary.Requests < float64(th.MinRequests) {
		return VerdictFail, fmt.Sprintf("the canary served %s requests in the analysis window, fewer than --canary-min-requests %d: too little traffic to judge it, so it fails", num(canary.Requests), th.MinRequests)
	}
	cp, sp := canary.Quantile(0.99), stable.Quantile(0.99)
	latLine := fmt.Sprintf("p99 latency canary %s, stable %s", secs(cp), secs(sp))
	if !stableKnown {
		return VerdictPass, errLine + "; " + latLine + fmt.Sprintf(" (stable served fewer than %d requests: error ratio judged against 0, latency not compared)", th.MinRequests)
	}
	if !math.IsNaN(cp) && !math.IsNaN(sp) && th.MaxP99Ratio > 0 && cp > sp*th.MaxP99Ratio && cp-sp > th.LatencyFloorSeconds {
		return VerdictFail, fmt.Sprintf("%s: more than %.2f times the stable pods' (--canary-max-p99-ratio); %s", latLine, th.MaxP99Ratio, errLine)
	}
	return VerdictPass, errLine + "; " + latLine
}

func pct(r float64) string { return strconv.FormatFloat(100*r, 'f', 1, 64) + "%" }
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
func secs(s float64) string {
	if math.IsNaN(s) {
		return "n/a"
	}
	return strconv.FormatFloat(s*1000, 'f', 1, 64) + "ms"
}
