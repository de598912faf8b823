package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/go-aks/pipeline/internal/render"
)

// Strategy is how a new digest reaches production.
type Strategy string

// Strategies.
const (
	// StrategyRolling is the Deployment's rolling update, judged by the
	// rollout watch and kstatus.
	StrategyRolling Strategy = "rolling"
	// StrategyCanary first runs a few pods of the new digest beside the
	// stable ones behind the same Service, compares their metrics over an
	// analysis window, and only then rolls out (or removes the canary).
	StrategyCanary Strategy = "canary"
)

// StrategyAnnotation on the Deployment in an overlay sets that
// environment's default strategy (the production overlay: canary); the
// --strategy flag overrides it.
const StrategyAnnotation = "deploy.go-aks.io/strategy"

// TrackLabel marks the canary's pods (and selects them): the stable
// Deployment's pods do not carry it, the Service selects both.
const TrackLabel = "deploy.go-aks.io/track"

// CanaryFailed is the outcome when the canary was stopped: production still
// runs the stable digest.
const CanaryFailed Outcome = "canary-failed"

// ParseStrategy parses the --strategy value ("" is the overlay's default).
func ParseStrategy(s string) (Strategy, error) {
	switch Strategy(s) {
	case "", StrategyRolling, StrategyCanary:
		return Strategy(s), nil
	}
	return "", fmt.Errorf("--strategy %q is not rolling or canary (leave it empty for the overlay's default, annotation %s)", s, StrategyAnnotation)
}

// CanaryOptions configure the canary strategy; zero values take the defaults.
type CanaryOptions struct {
	// Replicas of the new digest beside the stable pods (default 1).
	Replicas int32
	// Window is the analysis window (default 2m).
	Window time.Duration
	// Interval between looks at the metrics (default 10s).
	Interval time.Duration
	// Thresholds (defaults: error ratio +1 point, p99 1.5x, 10ms floor, 100 requests).
	Thresholds
	// PrometheusURL is a Prometheus-compatible query endpoint (Azure
	// Monitor managed Prometheus: the workspace's query endpoint). Empty:
	// the pods' own /metrics are read through the API server (pods/proxy).
	PrometheusURL string
	// PrometheusTokenFile holds a bearer token for PrometheusURL (never
	// logged); empty for none.
	PrometheusTokenFile string
}

func (c *CanaryOptions) defaults() {
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Window <= 0 {
		c.Window = 2 * time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = 10 * time.Second
	}
	if c.MaxErrorRatio <= 0 {
		c.MaxErrorRatio = 0.01
	}
	if c.MaxP99Ratio <= 0 {
		c.MaxP99Ratio = 1.5
	}
	if c.LatencyFloorSeconds <= 0 {
		c.LatencyFloorSeconds = 0.010
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 100
	}
}

// TrafficFigures are one side of the comparison.
type TrafficFigures struct {
	Pods       int     `json:"pods"`
	Requests   float64 `json:"requests"`
	Errors     float64 `json:"errors"`
	ErrorRatio float64 `json:"errorRatio"`
	P99Seconds float64 `json:"p99Seconds,omitempty"`
}

func figures(t traffic, pods int) TrafficFigures {
	f := TrafficFigures{Pods: pods, Requests: t.Requests, Errors: t.Errors, ErrorRatio: t.ErrorRatio()}
	if q := t.Quantile(0.99); q == q { // not NaN
		f.P99Seconds = q
	}
	return f
}

// CanaryReport is what the canary did, for the summary.
type CanaryReport struct {
	Deployment   string         `json:"deployment"`
	Image        string         `json:"image"`
	StableImage  string         `json:"stableImage"`
	Replicas     int32          `json:"replicas"`
	Share        string         `json:"share"`
	Source       string         `json:"source"`
	Thresholds   Thresholds     `json:"thresholds"`
	Window       Duration       `json:"window"`
	ReadyAfter   Duration       `json:"readyAfter,omitempty"`
	VerdictAfter Duration       `json:"verdictAfter,omitempty"`
	Canary       TrafficFigures `json:"canary"`
	Stable       TrafficFigures `json:"stable"`
	Verdict      Verdict        `json:"verdict,omitempty"`
	Reason       string         `json:"reason,omitempty"`
	Steps        []string       `json:"steps"`
}

func (r *CanaryReport) step(format string, args ...any) {
	r.Steps = append(r.Steps, fmt.Sprintf(format, args...))
}

// strategy is the strategy of this deploy: the flag, else the overlay's
// annotation, else rolling.
func (d *deployer) strategy(dep *unstructured.Unstructured) (Strategy, error) {
	if d.opts.Strategy != "" {
		return d.opts.Strategy, nil
	}
	v := dep.GetAnnotations()[StrategyAnnotation]
	s, err := ParseStrategy(v)
	if err != nil {
		return "", fmt.Errorf("annotation %s on Deployment %s in overlay %s: %w", StrategyAnnotation, dep.GetName(), d.opts.Environment, err)
	}
	if s == "" {
		s = StrategyRolling
	}
	return s, nil
}

func canaryName(name string) string { return name + "-canary" }

// canaryObject is the rendered Deployment turned into the canary: its own
// name, a few replicas, and the track label in its selector and pods (the
// stable pods lack it, so neither Deployment's ReplicaSets select the
// other's pods; the Service, which selects neither by track, serves both).
func canaryObject(dep *unstructured.Unstructured, replicas int32) (*unstructured.Unstructured, error) {
	c := dep.DeepCopy()
	c.SetName(canaryName(dep.GetName()))
	c.SetResourceVersion("")
	l := c.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[TrackLabel] = "canary"
	c.SetLabels(l)
	if err := unstructured.SetNestedField(c.Object, int64(replicas), "spec", "replicas"); err != nil {
		return nil, fmt.Errorf("canary replicas: %w", err)
	}
	for _, path := range [][]string{{"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		m, _, err := unstructured.NestedStringMap(c.Object, path...)
		if err != nil {
			return nil, fmt.Errorf("canary %v: %w", path, err)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[TrackLabel] = "canary"
		if err := unstructured.SetNestedStringMap(c.Object, m, path...); err != nil {
			return nil, fmt.Errorf("canary %v: %w", path, err)
		}
	}
	return c, nil
}

// runCanary runs and judges the canary beside the stable Deployment live.
// It returns nil when the canary passed (the caller then rolls the
// Deployment out and removes the canary), or an *Error when it failed, in
// which case the canary is already removed and the stable Deployment was
// never changed.
func (d *deployer) runCanary(ctx context.Context, res *render.Result, depObj *unstructured.Unstructured, live *appsv1.Deployment, sum *Summary) error {
	co := d.opts.Canary
	co.defaults()
	ns := depObj.GetNamespace()
	stableReplicas := int32(1)
	if live.Spec.Replicas != nil {
		stableReplicas = *live.Spec.Replicas
	}
	rep := &CanaryReport{
		Deployment: ns + "/" + canaryName(depObj.GetName()), Image: res.Image, StableImage: sum.PreviousImage,
		Replicas: co.Replicas, Thresholds: co.Thresholds, Window: Duration(co.Window),
		Share:  fmt.Sprintf("%d of %d pods", co.Replicas, co.Replicas+stableReplicas),
		Source: "pods/proxy (the pods' own /metrics through the API server)",
	}
	if co.PrometheusURL != "" {
		rep.Source = "Prometheus query endpoint " + co.PrometheusURL
	}
	sum.Canary = rep
	src, err := d.trafficSource(co)
	if err != nil {
		return err
	}
	fail := func(reason string, reasons []string) error {
		rep.Verdict, rep.Reason = VerdictFail, reason
		d.removeCanary(context.WithoutCancel(ctx), ns, depObj.GetName(), rep)
		sum.Outcome = CanaryFailed
		sum.Reasons = append([]string{reason}, reasons...)
		sum.Reasons = append(sum.Reasons, "production stays on "+sum.PreviousImage+" (the stable Deployment was not changed)")
		return &Error{Summary: sum, Msg: fmt.Sprintf("canary of %s failed: %s", res.Image, reason)}
	}

	// Everything but the Deployment goes in first: the canary may need it.
	var others []*unstructured.Unstructured
	for _, o := range res.Objects {
		if o != depObj {
			others = append(others, o)
		}
	}
	if _, err := d.applyAll(ctx, others, false); err != nil {
		return fmt.Errorf("apply (after a successful dry run): %w", err)
	}
	cobj, err := canaryObject(depObj, co.Replicas)
	if err != nil {
		return err
	}
	if _, err := d.applyAll(ctx, []*unstructured.Unstructured{cobj}, false); err != nil {
		return fmt.Errorf("create the canary: %w", err)
	}
	start := time.Now()
	rep.step("canary %s created: %s of the new digest beside the stable pods", rep.Deployment, rep.Share)
	d.log.InfoContext(ctx, "canary created; waiting for it to be ready", "canary", rep.Deployment, "share", rep.Share)

	_, reasons, err := d.watch(ctx, ns, cobj.GetName(), d.opts.Timeout)
	if err != nil {
		sum.FailureDetectedAfter = Duration(time.Since(start))
		if ctx.Err() != nil {
			return fail("interrupted while the canary started", nil)
		}
		return fail("the canary's pods did not become ready: "+err.Error(), reasons)
	}
	rep.ReadyAfter = Duration(time.Since(start))
	rep.step("canary ready after %s; analysing for %s (every %s)", time.Duration(rep.ReadyAfter).Round(time.Millisecond), co.Window, co.Interval)

	verdict, reason, err := d.analyse(ctx, src, ns, live, cobj.GetName(), co, rep)
	rep.VerdictAfter = Duration(time.Since(start))
	switch {
	case ctx.Err() != nil:
		return fail("interrupted during the canary analysis", nil)
	case err != nil:
		return fail("canary analysis: "+d.red.clean(err.Error()), nil)
	case verdict != VerdictPass:
		sum.FailureDetectedAfter = rep.VerdictAfter
		return fail(reason, nil)
	}
	rep.Verdict, rep.Reason = VerdictPass, reason
	rep.step("canary passed after %s: %s", time.Duration(rep.VerdictAfter).Round(time.Millisecond), reason)
	return nil
}

// analyse looks at the metrics every interval until the verdict.
func (d *deployer) analyse(ctx context.Context, src trafficSource, ns string, stable *appsv1.Deployment, canary string, co CanaryOptions, rep *CanaryReport) (Verdict, string, error) {
	cdep, err := d.cs.AppsV1().Deployments(ns).Get(ctx, canary, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("read the canary Deployment: %s", explainAPIError(err))
	}
	t0 := time.Now()
	if err := src.begin(ctx, d, stable, cdep); err != nil {
		return "", "", err
	}
	for {
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(co.Interval):
		}
		elapsed := time.Since(t0)
		ct, st, cn, sn, err := src.read(ctx, d, stable, cdep, elapsed)
		if err != nil {
			return "", "", err
		}
		rep.Canary, rep.Stable = figures(ct, cn), figures(st, sn)
		final := elapsed >= co.Window
		v, reason := judge(ct, st, co.Thresholds, final)
		d.log.InfoContext(ctx, "canary analysis", "elapsed", elapsed.Round(time.Second), "verdict", v, "figures", reason)
		if v != VerdictContinue {
			return v, reason, nil
		}
	}
}

// removeCanary deletes the canary Deployment and waits until its pods are
// gone, so that no request reaches the canary's digest afterwards.
func (d *deployer) removeCanary(ctx context.Context, ns, name string, rep *CanaryReport) {
	ctx, cancel := context.WithTimeout(ctx, max(d.opts.Timeout, time.Minute))
	defer cancel()
	fg := metav1.DeletePropagationForeground
	err := d.cs.AppsV1().Deployments(ns).Delete(ctx, canaryName(name), metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		rep.step("could not remove the canary: %s", d.red.clean(explainAPIError(err)))
		return
	}
	t0 := time.Now()
	sel := labels.SelectorFromSet(labels.Set{TrackLabel: "canary"}).String()
	for {
		_, derr := d.cs.AppsV1().Deployments(ns).Get(ctx, canaryName(name), metav1.GetOptions{})
		pods, err := d.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err == nil && len(pods.Items) == 0 && apierrors.IsNotFound(derr) {
			rep.step("canary removed; its pods were gone %s later", time.Since(t0).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			rep.step("canary Deployment deleted; some of its pods were still terminating when deploy returned")
			return
		case <-time.After(d.opts.PollInterval):
		}
	}
}

// trafficSource reads what the canary and the stable pods served since the
// analysis began.
type trafficSource interface {
	begin(ctx context.Context, d *deployer, stable, canary *appsv1.Deployment) error
	read(ctx context.Context, d *deployer, stable, canary *appsv1.Deployment, elapsed time.Duration) (c, s traffic, cPods, sPods int, err error)
}

func (d *deployer) trafficSource(co CanaryOptions) (trafficSource, error) {
	if co.PrometheusURL != "" {
		return newPromSource(co.PrometheusURL, co.PrometheusTokenFile)
	}
	return &podsSource{baseline: map[string]traffic{}}, nil
}

// podsSource scrapes every pod's /metrics through the API server's
// pods/proxy: no Prometheus is needed, and the figures are exact counter
// increases since the analysis began.
type podsSource struct {
	baseline map[string]traffic // by pod UID
}

func (p *podsSource) begin(ctx context.Context, d *deployer, stable, canary *appsv1.Deployment) error {
	for _, dep := range []*appsv1.Deployment{stable, canary} {
		pods, err := d.newPods(ctx, dep)
		if err != nil {
			return err
		}
		for i := range pods {
			if t, err := d.scrape(ctx, &pods[i], dep); err == nil {
				p.baseline[string(pods[i].UID)] = t
			}
		}
	}
	return nil
}

func (p *podsSource) read(ctx context.Context, d *deployer, stable, canary *appsv1.Deployment, _ time.Duration) (traffic, traffic, int, int, error) {
	var out [2]traffic
	var n [2]int
	for i, dep := range []*appsv1.Deployment{canary, stable} {
		pods, err := d.newPods(ctx, dep)
		if err != nil {
			return traffic{}, traffic{}, 0, 0, err
		}
		var errs []error
		for j := range pods {
			pod := &pods[j]
			if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
				continue
			}
			t, err := d.scrape(ctx, pod, dep)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			base, ok := p.baseline[string(pod.UID)]
			if !ok {
				// A pod that started during the analysis: all it served is new.
				base = traffic{Buckets: map[float64]float64{}}
				p.baseline[string(pod.UID)] = base
			}
			out[i] = out[i].add(t.since(base))
			n[i]++
		}
		if n[i] == 0 {
			return traffic{}, traffic{}, 0, 0, fmt.Errorf("no %s pod's metrics could be read: %w", []string{"canary", "stable"}[i], errors.Join(errs...))
		}
	}
	return out[0], out[1], n[0], n[1], nil
}

// scrape reads one pod's metrics through pods/proxy, on the port and path
// its template announces (prometheus.io/port, prometheus.io/path; default
// the container port named http and /metrics).
func (d *deployer) scrape(ctx context.Context, pod *corev1.Pod, dep *appsv1.Deployment) (traffic, error) {
	port, path := metricsEndpoint(&dep.Spec.Template)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := d.cs.CoreV1().Pods(pod.Namespace).ProxyGet("http", pod.Name, port, path, nil).DoRaw(ctx)
	if err != nil {
		return traffic{}, fmt.Errorf("read %s of pod %s through pods/proxy: %s", path, pod.Name, explainAPIError(err))
	}
	t, err := parseTraffic(bytes.NewReader(raw))
	if err != nil {
		return traffic{}, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	return t, nil
}

func metricsEndpoint(t *corev1.PodTemplateSpec) (port, path string) {
	port, path = t.Annotations["prometheus.io/port"], t.Annotations["prometheus.io/path"]
	if path == "" {
		path = "/metrics"
	}
	if port != "" {
		return port, path
	}
	for _, c := range t.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == "http" || port == "" {
				port = strconv.Itoa(int(p.ContainerPort))
			}
		}
	}
	if port == "" {
		port = "80"
	}
	return port, path
}

// CanaryPermissions are the accesses the canary strategy needs in namespace
// ns, beyond applying the rendered objects: create, read and delete the
// canary Deployment, follow its ReplicaSets and pods, and read the pods'
// metrics through pods/proxy (not needed with a Prometheus endpoint).
func CanaryPermissions(ns string, viaPodsProxy bool) []Permission {
	out := []Permission{
		{Group: "apps", Resource: "deployments", Verb: "get", Namespace: ns, Why: []string{whyCanary}},
		{Group: "apps", Resource: "deployments", Verb: "create", Namespace: ns, Why: []string{whyCanary}},
		{Group: "apps", Resource: "deployments", Verb: "patch", Namespace: ns, Why: []string{whyCanary}},
		{Group: "apps", Resource: "deployments", Verb: "delete", Namespace: ns, Why: []string{whyCanary}},
		{Group: "apps", Resource: "replicasets", Verb: "list", Namespace: ns, Why: []string{whyCanary}},
		{Resource: "pods", Verb: "list", Namespace: ns, Why: []string{whyCanary}},
	}
	if viaPodsProxy {
		out = append(out, Permission{Resource: "pods", Subresource: "proxy", Verb: "get", Namespace: ns, Why: []string{whyCanary}})
	}
	return out
}

func rolloutDone(dep *appsv1.Deployment) bool {
	done, _ := rolloutComplete(dep)
	return done
}
