package deploy

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

const depYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: production
  labels: {app.kubernetes.io/name: orders}
  annotations: {deploy.go-aks.io/strategy: canary}
spec:
  replicas: 3
  selector:
    matchLabels: {app.kubernetes.io/name: orders}
  template:
    metadata:
      labels: {app.kubernetes.io/name: orders}
      annotations: {prometheus.io/port: "8080", prometheus.io/path: /metrics}
    spec:
      containers:
        - name: orders
          image: r.example/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          ports: [{name: http, containerPort: 8080}]
`

func decode(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCanaryObject(t *testing.T) {
	dep := decode(t, depYAML)
	c, err := canaryObject(dep, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.GetName() != "orders-canary" || c.GetNamespace() != "production" {
		t.Fatalf("canary %s/%s", c.GetNamespace(), c.GetName())
	}
	if r, _, _ := unstructured.NestedInt64(c.Object, "spec", "replicas"); r != 1 {
		t.Fatalf("replicas %d", r)
	}
	sel, _, _ := unstructured.NestedStringMap(c.Object, "spec", "selector", "matchLabels")
	tmpl, _, _ := unstructured.NestedStringMap(c.Object, "spec", "template", "metadata", "labels")
	for _, m := range []map[string]string{sel, tmpl} {
		if m[TrackLabel] != "canary" || m["app.kubernetes.io/name"] != "orders" {
			t.Fatalf("labels %v: want the stable labels (the Service selects them) plus %s=canary", m, TrackLabel)
		}
	}
	// The rendered Deployment is not changed.
	if s, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels"); s[TrackLabel] != "" {
		t.Fatalf("canaryObject changed the stable selector: %v", s)
	}
}

func TestParseStrategy(t *testing.T) {
	for _, ok := range []string{"", "rolling", "canary"} {
		if _, err := ParseStrategy(ok); err != nil {
			t.Errorf("ParseStrategy(%q): %v", ok, err)
		}
	}
	if _, err := ParseStrategy("blue-green"); err == nil || !strings.Contains(err.Error(), `--strategy "blue-green" is not rolling or canary`) {
		t.Errorf("err = %v", err)
	}
}

func TestStrategyFromOverlay(t *testing.T) {
	dep := decode(t, depYAML)
	for _, tt := range []struct {
		flag Strategy
		ann  string
		want Strategy
		err  string
	}{
		{"", "canary", StrategyCanary, ""},
		{"", "", StrategyRolling, ""},
		{StrategyRolling, "canary", StrategyRolling, ""},
		{"", "linear", "", "annotation deploy.go-aks.io/strategy on Deployment orders in overlay production"},
	} {
		dep.SetAnnotations(map[string]string{StrategyAnnotation: tt.ann})
		d := &deployer{opts: Options{Strategy: tt.flag, Environment: "production"}}
		got, err := d.strategy(dep)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("flag %q annotation %q: %s, %v; want %s", tt.flag, tt.ann, got, err, tt.want)
		}
	}
}

func TestCanaryDefaults(t *testing.T) {
	var c CanaryOptions
	c.defaults()
	if c.Replicas != 1 || c.Window != 2*time.Minute || c.Interval != 10*time.Second || c.MaxErrorRatio != 0.01 || c.MaxP99Ratio != 1.5 || c.MinRequests != 100 || c.LatencyFloorSeconds != 0.01 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestApplySet(t *testing.T) {
	dep := decode(t, depYAML)
	svc := decode(t, "apiVersion: v1\nkind: Service\nmetadata: {name: orders, namespace: production}\n")
	as := newApplySet(dep, []*unstructured.Unstructured{svc, dep})
	// The ID is the one the ApplySet specification derives (and kubectl
	// computes) for a ConfigMap parent orders-applyset in production.
	if as.id != applySetID("orders-applyset", "production", "ConfigMap", "") || !strings.HasPrefix(as.id, "applyset-") || !strings.HasSuffix(as.id, "-v1") {
		t.Fatalf("id %q", as.id)
	}
	for _, o := range []*unstructured.Unstructured{svc, dep} {
		if o.GetLabels()[ApplySetPartOfLabel] != as.id {
			t.Fatalf("%s lacks the part-of label: %v", o.GetKind(), o.GetLabels())
		}
	}
	if got := formatGroupKinds(as.groupKinds); got != "Deployment.apps,Service" {
		t.Fatalf("group-kinds %q", got)
	}
	if got := parseGroupKinds("Deployment.apps, Service,"); len(got) != 2 || got[0] != (schema.GroupKind{Group: "apps", Kind: "Deployment"}) || got[1] != (schema.GroupKind{Kind: "Service"}) {
		t.Fatalf("parsed %v", got)
	}
	if !as.rendered[objKey(schema.GroupKind{Kind: "Service"}, "production", "orders")] || len(as.namespaces) != 1 {
		t.Fatalf("rendered %v namespaces %v", as.rendered, as.namespaces)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	dep := decode(t, depYAML)
	d, _ := canaryObject(dep, 1)
	var tmpl corev1.PodTemplateSpec
	raw, _, _ := unstructured.NestedMap(d.Object, "spec", "template")
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	if port, path := metricsEndpoint(&tmpl); port != "8080" || path != "/metrics" {
		t.Fatalf("annotated: %s %s", port, path)
	}
	tmpl.Annotations = nil
	tmpl.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "admin", ContainerPort: 9090}, {Name: "http", ContainerPort: 8081}}
	if port, path := metricsEndpoint(&tmpl); port != "8081" || path != "/metrics" {
		t.Fatalf("from the http port: %s %s", port, path)
	}
}

func TestPromQueries(t *testing.T) {
	if q := promQuery(t); !strings.Contains(q, `pod=~"orders-abc|orders\\.x"`) {
		t.Fatalf("query %s", q)
	}
}

func promQuery(t *testing.T) string {
	t.Helper()
	r, e, b := promQueries("production", []string{"orders-abc", regexpQuote("orders.x")}, 30*time.Second)
	for _, q := range []string{r, e, b} {
		if !strings.Contains(q, `namespace="production"`) || !strings.Contains(q, "[60s]") || !strings.Contains(q, `route!~"/healthz|/readyz|/livez|/metrics"`) {
			t.Fatalf("query %s", q)
		}
	}
	if !strings.Contains(e, `code=~"5.."`) || !strings.HasPrefix(b, "sum by (le) (increase(http_request_duration_seconds_bucket{") {
		t.Fatalf("queries %s / %s", e, b)
	}
	return r
}

func TestPermissions(t *testing.T) {
	has := func(ps []Permission, want Permission) bool {
		for _, p := range ps {
			if p.Group == want.Group && p.Resource == want.Resource && p.Subresource == want.Subresource &&
				p.Verb == want.Verb && p.Namespace == want.Namespace {
				return true
			}
		}
		return false
	}
	pp := PrunePermissions("production", []schema.GroupResource{{Resource: "services"}, {Group: "networking.k8s.io", Resource: "networkpolicies"}})
	for _, want := range []Permission{
		{Resource: "configmaps", Verb: "patch", Namespace: "production"},
		{Resource: "services", Verb: "delete", Namespace: "production"},
		{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "list", Namespace: "production"},
	} {
		if !has(pp, want) {
			t.Errorf("prune permissions lack %+v", want)
		}
	}
	proxy := Permission{Resource: "pods", Subresource: "proxy", Verb: "get", Namespace: "production"}
	if !has(CanaryPermissions("production", true), proxy) || has(CanaryPermissions("production", false), proxy) {
		t.Error("pods/proxy is needed exactly when the metrics are read through the API server")
	}
	if !has(CanaryPermissions("production", false), Permission{Group: "apps", Resource: "deployments", Verb: "delete", Namespace: "production"}) {
		t.Error("the canary Deployment must be deletable")
	}
}
