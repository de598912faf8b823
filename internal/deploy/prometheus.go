package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// promSource reads the canary's and the stable pods' traffic from a
// Prometheus-compatible query endpoint (Prometheus, Azure Monitor managed
// Prometheus) with PromQL instant queries over the time since the analysis
// began, selecting the pods by namespace and name as the scrape labels them
// (namespace, pod: what ama-metrics and the usual kubernetes-pods scrape
// configuration attach).
type promSource struct {
	base  *url.URL
	token string
	hc    *http.Client
}

func newPromSource(endpoint, tokenFile string) (*promSource, error) {
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--prometheus-url %q is not an http(s) URL of a Prometheus query endpoint (Azure Monitor: the workspace's query endpoint https://NAME.REGION.prometheus.monitor.azure.com)", endpoint)
	}
	p := &promSource{base: u, hc: &http.Client{Timeout: 20 * time.Second}}
	if tokenFile != "" {
		b, err := os.ReadFile(filepath.Clean(tokenFile))
		if err != nil {
			return nil, fmt.Errorf("--prometheus-token-file %s: %w", tokenFile, err)
		}
		p.token = strings.TrimSpace(string(b))
	}
	return p, nil
}

func (p *promSource) begin(context.Context, *deployer, *appsv1.Deployment, *appsv1.Deployment) error {
	return nil
}

func (p *promSource) read(ctx context.Context, d *deployer, stable, canary *appsv1.Deployment, elapsed time.Duration) (traffic, traffic, int, int, error) {
	var out [2]traffic
	var n [2]int
	for i, dep := range []*appsv1.Deployment{canary, stable} {
		pods, err := d.newPods(ctx, dep)
		if err != nil {
			return traffic{}, traffic{}, 0, 0, err
		}
		var names []string
		for _, pod := range pods {
			names = append(names, regexpQuote(pod.Name))
		}
		n[i] = len(names)
		if len(names) == 0 {
			return traffic{}, traffic{}, 0, 0, fmt.Errorf("the %s Deployment has no pods", dep.Name)
		}
		t, err := p.traffic(ctx, dep.Namespace, names, elapsed)
		if err != nil {
			return traffic{}, traffic{}, 0, 0, err
		}
		out[i] = t
	}
	return out[0], out[1], n[0], n[1], nil
}

// promQueries are the PromQL expressions for one set of pods over a range.
func promQueries(ns string, pods []string, rng time.Duration) (requests, errors, buckets string) {
	sel := fmt.Sprintf(`namespace=%q,pod=~%q,route!~"/healthz|/readyz|/livez|/metrics"`, ns, strings.Join(pods, "|"))
	r := "[" + strconv.Itoa(int(max(rng, time.Minute).Seconds())) + "s]"
	requests = "sum(increase(" + requestsMetric + "{" + sel + "}" + r + "))"
	errors = "sum(increase(" + requestsMetric + "{" + sel + `,code=~"5.."}` + r + "))"
	buckets = "sum by (le) (increase(" + durationMetric + "_bucket{" + sel + "}" + r + "))"
	return
}

func (p *promSource) traffic(ctx context.Context, ns string, pods []string, rng time.Duration) (traffic, error) {
	qr, qe, qb := promQueries(ns, pods, rng)
	t := traffic{Buckets: map[float64]float64{}}
	req, err := p.query(ctx, qr)
	if err != nil {
		return t, err
	}
	for _, s := range req {
		t.Requests += s.value
	}
	errs, err := p.query(ctx, qe)
	if err != nil {
		return t, err
	}
	for _, s := range errs {
		t.Errors += s.value
	}
	bs, err := p.query(ctx, qb)
	if err != nil {
		return t, err
	}
	for _, s := range bs {
		le, err := strconv.ParseFloat(s.metric["le"], 64)
		if err != nil {
			continue
		}
		t.Buckets[le] += s.value
	}
	return t, nil
}

type promSample struct {
	metric map[string]string
	value  float64
}

// query runs one instant query (/api/v1/query) and returns its vector.
func (p *promSource) query(ctx context.Context, q string) ([]promSample, error) {
	u := *p.base
	u.Path += "/api/v1/query"
	u.RawQuery = url.Values{"query": {q}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", p.base.Redacted(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", p.base.Redacted(), err)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != http.StatusOK || r.Status != "success" {
		return nil, fmt.Errorf("query %s answered %s: %s%s (check --prometheus-url and --prometheus-token-file)", p.base.Redacted(), resp.Status, r.Error, jsonErr(err))
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", p.base.Redacted(), r.Data.ResultType)
	}
	out := make([]promSample, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: sample value %v: %w", p.base.Redacted(), s.Value[1], err)
		}
		out = append(out, promSample{metric: s.Metric, value: v})
	}
	return out, nil
}

func jsonErr(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

// regexpQuote escapes a pod name for a PromQL regular expression (names
// hold only [a-z0-9.-], of which '.' needs escaping).
func regexpQuote(s string) string { return strings.ReplaceAll(s, ".", `\.`) }
