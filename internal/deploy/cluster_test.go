//go:build cluster

package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/testenv/cluster"
	testenv "github.com/go-aks/pipeline/internal/testenv/env"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// env is what the package's tests share: the one test environment of the
// release path (testenv.Start: cluster with its staging and production
// namespaces, PostgreSQL on the cluster network, the registries), started
// once for the test binary, plus the service's images and a copy of the
// manifests.
type env struct {
	te        *testenv.Env
	c         *cluster.Cluster // te.Cluster
	admin     *kubernetes.Clientset
	manifests string // copy of manifests/ plus the test components
	root      string
	orders    string // orders image v1
	ordersV2  string // same binary, different digest
	crash     string // orders with an argument: exits at start
	missing   string // a digest the registry does not have
}

var e *env

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	if err := testenv.CheckHost(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the deploy cluster tests cannot run on this machine:\n"+err.Error())
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var err error
	e, err = setup(ctx)
	if e != nil {
		defer func() {
			if !e.teardown() {
				code = 1
			}
		}()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: set up the test environment:", err)
		return 1
	}
	return m.Run()
}

func setup(ctx context.Context) (*env, error) {
	root, err := toolbin.RepoRoot()
	if err != nil {
		return nil, err
	}
	e := &env{root: root}
	t0 := time.Now()
	e.te, err = testenv.Start(ctx, testenv.Options{LogDir: os.Getenv("CLUSTER_LOG_DIR")})
	if err != nil {
		return nil, err
	}
	e.c = e.te.Cluster
	slog.Info("test environment up", "took", time.Since(t0).Round(time.Millisecond))
	e.admin, err = e.c.Clientset()
	if err != nil {
		return e, err
	}
	// staging and production are prepared by testenv.Start; "broken" is
	// this package's own namespace for a deliberately failing deployment.
	if err := e.te.PrepareNamespace(ctx, "broken"); err != nil {
		return e, err
	}
	if err := e.buildImages(ctx); err != nil {
		return e, err
	}
	if err := e.setupPruneCanary(ctx); err != nil {
		return e, err
	}
	e.manifests, err = e.copyManifests()
	if err != nil {
		return e, err
	}
	return e, nil
}

// teardown stops the environment and reports whether it left nothing
// behind on the machine.
func (e *env) teardown() bool {
	ctx := context.Background()
	ok := true
	if e.manifests != "" {
		_ = os.RemoveAll(filepath.Dir(e.manifests))
	}
	if e.te == nil {
		return ok
	}
	fp := e.te.Footprint()
	if err := e.te.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: stop the test environment:", err)
		ok = false
	}
	if left := testenv.Leftovers(ctx, fp); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the test environment left %d things behind:\n  %s\n", len(left), strings.Join(left, "\n  "))
		ok = false
	} else {
		fmt.Fprintf(os.Stderr, "test environment stopped; nothing left behind (%d directories, %d addresses checked)\n", len(fp.Dirs), len(fp.Addrs))
	}
	return ok
}

func (e *env) buildImages(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "deploy-test-bin-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "orders")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/orders")
	cmd.Dir = filepath.Join(e.root, "app") // the service's own Go module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the orders service: %w\n%s", err, out)
	}
	b := []imagebuild.Binary{{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Path: bin}}
	push := func(opts imagebuild.Options) (string, error) {
		idx, err := imagebuild.Index(ctx, b, opts)
		if err != nil {
			return "", err
		}
		return e.c.Push(ctx, "orders", idx)
	}
	if e.orders, err = push(imagebuild.Options{Revision: "v1"}); err != nil {
		return err
	}
	if e.ordersV2, err = push(imagebuild.Options{Revision: "v2"}); err != nil {
		return err
	}
	if e.crash, err = push(imagebuild.Options{Revision: "crash", Entrypoint: []string{"/app/orders", "--crash"}}); err != nil {
		return err
	}
	e.missing = e.c.Registry.Host + "/orders@sha256:" + strings.Repeat("0badd16e", 8)
	return nil
}

// copyManifests copies manifests/ and adds the test components, so that
// tests can render failing variants without touching the repository.
func (e *env) copyManifests() (string, error) {
	tmp, err := os.MkdirTemp("", "deploy-test-manifests-")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(tmp, "manifests")
	if err := copyDir(filepath.Join(e.root, "manifests"), dst); err != nil {
		return "", err
	}
	if err := copyDir(filepath.Join(e.root, "internal", "deploy", "testdata", "components"), filepath.Join(dst, "components", "test")); err != nil {
		return "", err
	}
	return dst, nil
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		data, err := os.ReadFile(p) //nolint:gosec // copying the repository's own manifests in a test
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600) //nolint:gosec // target is inside the test's temporary directory
	})
}

// opts are the deploy options for an environment with its own kubeconfig.
func (e *env) opts(envName, image string, components ...string) deploy.Options {
	return deploy.Options{
		Kubeconfig: e.c.Kubeconfigs[envName], Manifests: e.manifests, Environment: envName, Image: image,
		Components: components, Timeout: 2 * time.Minute, Rollback: true, PollInterval: 250 * time.Millisecond,
	}
}

// state is what the cluster runs for a Deployment.
type state struct {
	image, revision, rv string
	generation          int64
	ready               int32
	podImages           []string
}

func (e *env) state(ctx context.Context, t *testing.T, ns string) state {
	t.Helper()
	d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read deployment: %v", err)
	}
	s := state{image: d.Spec.Template.Spec.Containers[0].Image, revision: d.Annotations["deployment.kubernetes.io/revision"],
		rv: d.ResourceVersion, generation: d.Generation, ready: d.Status.ReadyReplicas}
	pods, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=orders"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			for _, cs := range p.Status.ContainerStatuses {
				s.podImages = append(s.podImages, cs.ImageID)
			}
		}
	}
	return s
}

func (e *env) serviceURL(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	svc, err := e.admin.CoreV1().Services(ns).Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + svc.Spec.ClusterIP
}

func httpGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func digestOf(ref string) string { _, d, _ := strings.Cut(ref, "@"); return d }

// checkRunning asserts the Deployment runs image on every pod and its
// Service answers /readyz.
func (e *env) checkRunning(ctx context.Context, t *testing.T, ns, image string) state {
	t.Helper()
	s := e.state(ctx, t, ns)
	if s.image != image {
		t.Errorf("deployment template image %s, want %s", s.image, image)
	}
	if s.ready < 1 {
		t.Errorf("no ready replicas")
	}
	for _, id := range s.podImages {
		if !strings.HasSuffix(id, digestOf(image)) {
			t.Errorf("a pod runs %s, want digest %s", id, digestOf(image))
		}
	}
	url := e.serviceURL(ctx, t, ns) + "/readyz"
	var last error
	for i := 0; i < 40; i++ {
		code, _, err := httpGet(ctx, url)
		if err == nil && code == http.StatusOK {
			return s
		}
		last = fmt.Errorf("status %d: %w", code, err)
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("service %s not answering: %v", url, last)
	return s
}

func mustDeploy(ctx context.Context, t *testing.T, o deploy.Options, want deploy.Outcome) *deploy.Summary {
	t.Helper()
	sum, err := deploy.Run(ctx, o)
	if err != nil {
		t.Fatalf("deploy %s %s: %v", o.Environment, o.Image, err)
	}
	t.Logf("\n%s", sum)
	if sum.Outcome != want {
		t.Fatalf("outcome %s, want %s", sum.Outcome, want)
	}
	return sum
}

// TestDeployLifecycle runs the staging story in order: first deploy, no-op
// re-deploy, upgrade, then failing upgrades that must each be detected,
// explained and rolled back to the upgrade, with the service still serving.
// Each step builds on the state the one before left: the chain stops at the
// first failure.
func TestDeployLifecycle(t *testing.T) {
	ctx := context.Background()
	first := mustDeploy(ctx, t, e.opts("staging", e.orders), deploy.Deployed)
	e.checkRunning(ctx, t, "staging", first.Image)

	step(t, "same digest is a no-op", func(t *testing.T) {
		before := e.state(ctx, t, "staging")
		sum := mustDeploy(ctx, t, e.opts("staging", e.orders), deploy.Unchanged)
		after := e.state(ctx, t, "staging")
		if after.generation != before.generation || after.revision != before.revision {
			t.Errorf("re-deploy changed the Deployment: generation %d->%d revision %s->%s", before.generation, after.generation, before.revision, after.revision)
		}
		if sum.Revision != before.revision {
			t.Errorf("summary revision %s, want %s", sum.Revision, before.revision)
		}
	})

	var good state
	step(t, "upgrade", func(t *testing.T) {
		before := e.state(ctx, t, "staging")
		sum := mustDeploy(ctx, t, e.opts("staging", e.ordersV2), deploy.Deployed)
		good = e.checkRunning(ctx, t, "staging", e.ordersV2)
		if sum.Revision == before.revision || sum.PreviousImage != e.orders {
			t.Errorf("summary %+v: want a new revision and previous image %s", sum, e.orders)
		}
	})

	failing := []struct {
		name       string
		image      string
		components []string
		want       []string // each must appear in the reasons
	}{
		{"crashing entry point", e.crash, nil, []string{"exit code 1", "takes no arguments"}},
		{"digest missing from registry", e.missing, nil, []string{"ErrImagePull", "not found"}},
		{"readiness never comes (database unreachable)", e.ordersV2 /* same image, broken config */, []string{"components/test/db-unreachable"}, []string{"database not reachable"}},
		{"requests no node can satisfy", e.ordersV2, []string{"components/test/huge-requests"}, []string{"unschedulable", "Insufficient cpu"}},
	}
	for _, tc := range failing {
		step(t, "rolled back: "+tc.name, func(t *testing.T) {
			o := e.opts("staging", tc.image, tc.components...)
			sum, err := deploy.Run(ctx, o)
			if err == nil {
				t.Fatalf("deploy succeeded, want a failure")
			}
			t.Logf("error: %v", err)
			var de *deploy.Error
			if !errors.As(err, &de) || sum == nil {
				t.Fatalf("error %T is not a rollout failure", err)
			}
			t.Logf("\n%s", sum)
			if sum.Outcome != deploy.RolledBack {
				t.Errorf("outcome %s, want %s", sum.Outcome, deploy.RolledBack)
			}
			reasons := strings.Join(sum.Reasons, "\n")
			for _, w := range tc.want {
				if !strings.Contains(reasons, w) {
					t.Errorf("reasons lack %q", w)
				}
			}
			after := e.checkRunning(ctx, t, "staging", e.ordersV2)
			if after.revision == good.revision {
				t.Errorf("revision still %s: expected a rollback revision", after.revision)
			}
			good = after
		})
	}

	step(t, "failed revision left in place, next failure rolls back to the last serving one", func(t *testing.T) {
		o := e.opts("staging", e.crash)
		o.Rollback = false
		sum, err := deploy.Run(ctx, o)
		if err == nil || sum == nil || sum.Outcome != deploy.Failed {
			t.Fatalf("deploy with --rollback=false: outcome %v, err %v; want failed", sum, err)
		}
		if s := e.state(ctx, t, "staging"); s.image != e.crash {
			t.Fatalf("with rollback off the failed revision must stay; template image %s", s.image)
		}
		sum, err = deploy.Run(ctx, e.opts("staging", e.missing))
		if err == nil || sum == nil || sum.Outcome != deploy.RolledBack || sum.PreviousImage != e.ordersV2 {
			t.Fatalf("outcome %+v, err %v; want rolled back to %s", sum, err, e.ordersV2)
		}
		good = e.checkRunning(ctx, t, "staging", e.ordersV2)
		mustDeploy(ctx, t, e.opts("staging", e.ordersV2), deploy.Unchanged)
	})

	step(t, "invalid manifest refused before any change", func(t *testing.T) {
		before := e.state(ctx, t, "staging")
		svcBefore, err := e.admin.CoreV1().Services("staging").Get(ctx, "orders", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = deploy.Run(ctx, e.opts("staging", e.orders, "components/test/invalid-port"))
		if err == nil || !strings.Contains(err.Error(), "dry run refused") || !strings.Contains(err.Error(), "Service staging/orders") {
			t.Fatalf("err = %v, want a dry-run refusal naming the Service", err)
		}
		after := e.state(ctx, t, "staging")
		svcAfter, _ := e.admin.CoreV1().Services("staging").Get(ctx, "orders", metav1.GetOptions{})
		if after.rv != before.rv || svcAfter.ResourceVersion != svcBefore.ResourceVersion {
			t.Errorf("objects changed: deployment rv %s->%s, service rv %s->%s", before.rv, after.rv, svcBefore.ResourceVersion, svcAfter.ResourceVersion)
		}
	})
}

// TestDeployRefusesBadInput covers what must fail before anything changes.
func TestDeployRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	const token = "bogus-token-0123456789abcdef"
	dir := t.TempDir()
	ca, err := os.ReadFile(e.c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	writeKC := func(name, server, tok string) string {
		cfg := clientcmdNewConfig(server, ca, tok)
		p := filepath.Join(dir, name)
		if err := clientcmd.WriteToFile(*cfg, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		mutate  func(*deploy.Options)
		wantErr []string
	}{
		{"tag instead of digest", func(o *deploy.Options) { o.Image = e.c.Registry.Host + "/orders:latest" }, []string{"--image", "not pinned to a digest"}},
		{"wrong credentials", func(o *deploy.Options) { o.Kubeconfig = writeKC("wrong", e.c.Server, token) }, []string{"refused the credentials", "401 Unauthorized", "--kubeconfig"}},
		{"unreachable server", func(o *deploy.Options) { o.Kubeconfig = writeKC("unreachable", "https://"+e.c.NodeIP+":1", token) }, []string{"cannot reach the Kubernetes API server", "connection refused"}},
		{"namespace outside the kubeconfig's rights", func(o *deploy.Options) { o.Namespace = "production" }, []string{"lack", "permission(s) deploy needs", "in namespace production", "nothing was changed"}},
		{"missing kubeconfig", func(o *deploy.Options) { o.Kubeconfig = filepath.Join(dir, "nope") }, []string{"--kubeconfig", "cannot read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := e.opts("staging", e.orders)
			tc.mutate(&o)
			t0 := time.Now()
			_, err := deploy.Run(ctx, o)
			if err == nil {
				t.Fatal("deploy succeeded")
			}
			t.Logf("after %s: %v", time.Since(t0).Round(time.Millisecond), err)
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q", w)
				}
			}
			if l := deploy.Leaks(err.Error(), token); len(l) > 0 {
				t.Errorf("error carries the token: %v", l)
			}
		})
	}
}

// TestProduction deploys the production overlay. The test cluster has no
// Secrets Store CSI driver: the real overlay is validated by a server-side
// dry run (after installing the SecretProviderClass CRD), and pods run with
// the component that takes the password from a Kubernetes Secret instead.
//
// It starts from, and leaves, a cluster without the CRD and the production
// Deployment, so it does not depend on what ran before (-count=2, -shuffle).
func TestProduction(t *testing.T) {
	ctx := context.Background()
	resetProduction(ctx, t)
	t.Cleanup(func() { resetProduction(context.WithoutCancel(ctx), t) })
	o := e.opts("production", e.orders)
	o.DryRunOnly = true
	_, err := deploy.Run(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "SecretProviderClass") || !strings.Contains(err.Error(), "azure-keyvault-secrets-provider") {
		t.Fatalf("without the CRD: err = %v, want a clear SecretProviderClass error", err)
	}
	installCRD(ctx, t)
	// Discovery needs a moment to serve the new group.
	var sum *deploy.Summary
	for i := 0; i < 40; i++ {
		if sum, err = deploy.Run(ctx, o); err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil || sum.Outcome != deploy.Validated {
		t.Fatalf("dry run of the production overlay: %v", err)
	}
	if _, err := e.admin.AppsV1().Deployments("production").Get(ctx, "orders", metav1.GetOptions{}); err == nil {
		t.Fatal("a dry run created the Deployment")
	}
	mustDeploy(ctx, t, e.opts("production", e.orders, "components/db-password-from-secret"), deploy.Deployed)
	e.checkRunning(ctx, t, "production", e.orders)
}

func installCRD(ctx context.Context, t *testing.T) {
	t.Helper()
	applyCRD(ctx, t, "testdata/secretproviderclass-crd.yaml")
}

func applyCRD(ctx context.Context, t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file) //nolint:gosec // the package's own test data
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	u := &unstructured.Unstructured{Object: obj}
	if _, err := dyn.Resource(gvr).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "test", Force: true}); err != nil {
		t.Fatal(err)
	}
}

// TestAcceptanceSuite runs the service's acceptance suite against the
// deployed staging Service, and against a deliberately broken deployment,
// where it must fail.
func TestAcceptanceSuite(t *testing.T) {
	ctx := context.Background()
	// Whatever another test left in staging (a failed revision kept with
	// rollback off, say), acceptance runs against a serving good image.
	sum, err := deploy.Run(ctx, e.opts("staging", e.ordersV2))
	if err != nil || (sum.Outcome != deploy.Deployed && sum.Outcome != deploy.Unchanged) {
		t.Fatalf("deploy the good image to staging: outcome %v, err %v", sum, err)
	}
	e.checkRunning(ctx, t, "staging", e.ordersV2)
	t.Run("passes against staging", func(t *testing.T) {
		res, err := runAcceptance(ctx, e.serviceURL(ctx, t, "staging"))
		if err != nil {
			t.Fatal(err)
		}
		if res.action != "pass" || len(res.failed()) > 0 || len(res.passed()) < len(acceptanceTests) {
			t.Fatalf("acceptance suite against staging: package %s, passed %v, failed %v; want all of %v to pass\n%s",
				res.action, res.passed(), res.failed(), acceptanceTests, res.output)
		}
		t.Logf("acceptance suite passed against staging: %v", res.passed())
	})
	t.Run("fails against a broken deployment", func(t *testing.T) {
		o := deploy.Options{Kubeconfig: e.c.AdminKubeconfig, Manifests: e.manifests, Environment: "staging", Namespace: "broken",
			Image: e.crash, Timeout: time.Minute, Rollback: true}
		if _, err := deploy.Run(ctx, o); err == nil {
			t.Fatal("deploying the crashing image succeeded")
		}
		baseURL := e.serviceURL(ctx, t, "broken")
		res, err := runAcceptance(ctx, baseURL)
		if err != nil {
			t.Fatal(err)
		}
		// It must fail for the right reason: the suite compiled and ran,
		// and its first check got no HTTP answer at all from this very
		// Service (no pod of the crashing image is ready: the request is
		// refused or times out), not a build error, another URL or a
		// wrong status.
		const check = "TestHealthAndReadiness"
		out := res.tests[check]
		if res.action != "fail" || res.results[check] != "fail" ||
			!strings.Contains(out, `GET /healthz: Get "`+baseURL+`/healthz": `) {
			t.Fatalf("acceptance against the broken deployment: package %s, %s %s with output %q; want %s to get no answer from %s/healthz\n%s",
				res.action, check, res.results[check], out, check, baseURL, res.output)
		}
		// The rest fail at once, naming the request that got no answer,
		// instead of each waiting out its own timeout.
		for _, name := range acceptanceTests[1:] {
			if res.results[name] != "fail" || !strings.Contains(res.tests[name], "is unreachable (GET /healthz got no answer") {
				t.Errorf("acceptance against the broken deployment: %s %s with output %q; want it to fail at once as unreachable", name, res.results[name], res.tests[name])
			}
		}
		t.Logf("acceptance failed as it must: %s: %s", check, strings.TrimSpace(out))
	})
}

// acceptanceTests are the suite's top-level tests (app/acceptance).
var acceptanceTests = []string{"TestHealthAndReadiness", "TestMetricsExposed", "TestCreateAndGetOrder",
	"TestListOwnOrdersInPages", "TestConcurrentCreates", "TestRejectsBadInput"}

// acceptanceRun is the outcome of one run of the acceptance suite, read from
// go test -json: the package's action (pass, fail; empty when it did not
// get that far, e.g. a build failure), each test's action and output.
type acceptanceRun struct {
	action  string
	results map[string]string
	tests   map[string]string
	output  string
}

func (r acceptanceRun) with(action string) []string {
	var out []string
	for _, name := range acceptanceTests {
		if r.results[name] == action {
			out = append(out, name)
		}
	}
	return out
}

func (r acceptanceRun) passed() []string { return r.with("pass") }
func (r acceptanceRun) failed() []string { return r.with("fail") }

// runAcceptance runs the acceptance suite against baseURL. An error means
// the run itself could not be read (not that the suite failed).
func runAcceptance(ctx context.Context, baseURL string) (acceptanceRun, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-json", "-count=1", "-v", "-tags", "acceptance", "./acceptance")
	cmd.Dir = filepath.Join(e.root, "app") // the service's own Go module
	cmd.Env = append(os.Environ(), "BASE_URL="+baseURL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, _ := cmd.Output() // a failing suite exits non-zero: the events say why
	res := acceptanceRun{results: map[string]string{}, tests: map[string]string{}}
	var all strings.Builder
	dec := json.NewDecoder(strings.NewReader(string(stdout)))
	for dec.More() {
		var ev struct {
			Action, Test, Output string
		}
		if err := dec.Decode(&ev); err != nil {
			return res, fmt.Errorf("read go test -json output: %w\nstderr:\n%s", err, stderr.String())
		}
		all.WriteString(ev.Output)
		switch {
		case ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail"):
			res.action = ev.Action
		case ev.Test != "" && ev.Action == "output":
			res.tests[ev.Test] += ev.Output
		case ev.Test != "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip"):
			res.results[ev.Test] = ev.Action
		}
	}
	res.output = all.String() + stderr.String()
	return res, nil
}
