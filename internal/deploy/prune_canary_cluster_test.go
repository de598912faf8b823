//go:build cluster

package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/rehearsal"
)

// The prune and canary tests each have a namespace of their own (with its
// database), so that they run in any order beside the other tests.
const (
	pruneNS  = "prune"
	canaryNS = "canary"
)

// errorsImage is the orders service built with the production-errors
// fault firing whatever the database: ready and healthy, 3 in 10 of its API
// answers are 500.
var errorsImage string

func (e *env) setupPruneCanary(ctx context.Context) error {
	for _, ns := range []string{pruneNS, canaryNS} {
		if err := e.te.PrepareNamespace(ctx, ns); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "deploy-test-errors-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	replace, err := rehearsal.ProductionErrorsOverlay(filepath.Join(e.root, "app"), dir, true)
	if err != nil {
		return err
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	ovFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovFile, overlay, 0o600); err != nil {
		return err
	}
	bin := filepath.Join(dir, "orders")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-overlay", ovFile, "-o", bin, "./cmd/orders")
	cmd.Dir = filepath.Join(e.root, "app") // the service's own Go module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the orders service with the production-errors fault: %w\n%s", err, out)
	}
	idx, err := imagebuild.Index(ctx, []imagebuild.Binary{{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Path: bin}}, imagebuild.Options{Revision: "errors"})
	if err != nil {
		return err
	}
	errorsImage, err = e.c.Push(ctx, "orders", idx)
	return err
}

func (e *env) nsOpts(ns, image string, components ...string) deploy.Options {
	o := e.opts("staging", image, components...)
	o.Kubeconfig = e.c.AdminKubeconfig
	o.Namespace = ns
	return o
}

func configMapExists(ctx context.Context, t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := e.admin.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestPrune: an object that left the manifests is deleted after the next
// successful deploy, and only then; what deploy does not own is left alone.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	extra := "components/test/extra-configmap"
	first := mustDeploy(ctx, t, e.nsOpts(pruneNS, e.orders, extra), deploy.Deployed)
	if !configMapExists(ctx, t, pruneNS, "orders-extra") {
		t.Fatal("the extra ConfigMap was not applied")
	}
	for _, h := range first.Health {
		if h.Status != "Current" {
			t.Errorf("kstatus: %s is %s (%s), want every object Current", h.Object, h.Status, h.Message)
		}
	}
	if len(first.Health) != 7 { // the staging overlay's six objects and the extra ConfigMap
		t.Errorf("kstatus judged %d objects, want 7", len(first.Health))
	}
	parent, err := e.admin.CoreV1().ConfigMaps(pruneNS).Get(ctx, "orders-applyset", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("no ApplySet parent: %v", err)
	}
	id := parent.Labels[deploy.ApplySetIDLabel]
	if !strings.HasPrefix(id, "applyset-") || parent.Annotations[deploy.ApplySetToolingAnnot] != "go-aks-deploy/v1" ||
		!strings.Contains(parent.Annotations[deploy.ApplySetGroupKindsAnnot], "ConfigMap") {
		t.Fatalf("ApplySet parent labels %v annotations %v", parent.Labels, parent.Annotations)
	}

	// Not deploy's: one made by hand, and one carrying deploy's part-of
	// label but created by another manager.
	foreign := []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "made-by-hand", Namespace: pruneNS}},
		{ObjectMeta: metav1.ObjectMeta{Name: "label-copied", Namespace: pruneNS, Labels: map[string]string{deploy.ApplySetPartOfLabel: id}}},
	}
	for _, cm := range foreign {
		if _, err := e.admin.CoreV1().ConfigMaps(pruneNS).Create(ctx, cm, metav1.CreateOptions{FieldManager: "someone-else"}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// A ConfigMap of deploy's in another namespace: never looked at.
	deployOK(ctx, t, e.nsOpts(canaryNS, e.orders, extra))

	t.Run("dry run shows what would be pruned", func(t *testing.T) {
		o := e.nsOpts(pruneNS, e.orders)
		o.DryRunOnly = true
		sum := mustDeploy(ctx, t, o, deploy.Validated)
		if !slices.Equal(sum.WouldPrune, []string{"ConfigMap " + pruneNS + "/orders-extra"}) {
			t.Errorf("would prune %v, want exactly the extra ConfigMap", sum.WouldPrune)
		}
		if !configMapExists(ctx, t, pruneNS, "orders-extra") {
			t.Error("the dry run deleted the ConfigMap")
		}
	})

	t.Run("a failed rollout prunes nothing", func(t *testing.T) {
		sum, err := deploy.Run(ctx, e.nsOpts(pruneNS, e.crash))
		var de *deploy.Error
		if !errors.As(err, &de) || sum.Outcome != deploy.RolledBack {
			t.Fatalf("deploying the crashing image: %v (outcome %v), want a rollback", err, sum)
		}
		if len(sum.Pruned) != 0 || !configMapExists(ctx, t, pruneNS, "orders-extra") {
			t.Errorf("a failed rollout pruned %v", sum.Pruned)
		}
	})

	t.Run("the next successful deploy prunes what left the manifests", func(t *testing.T) {
		sum := mustDeploy(ctx, t, e.nsOpts(pruneNS, e.ordersV2), deploy.Deployed)
		if !slices.Equal(sum.Pruned, []string{"ConfigMap " + pruneNS + "/orders-extra"}) {
			t.Errorf("pruned %v, want exactly the extra ConfigMap", sum.Pruned)
		}
		if configMapExists(ctx, t, pruneNS, "orders-extra") {
			t.Error("the extra ConfigMap is still there")
		}
		for _, name := range []string{"made-by-hand", "label-copied", "orders-db", "orders-applyset"} {
			if !configMapExists(ctx, t, pruneNS, name) {
				t.Errorf("ConfigMap %s, which deploy does not own (or is its record), was deleted", name)
			}
		}
		if !configMapExists(ctx, t, canaryNS, "orders-extra") {
			t.Error("prune reached into another namespace")
		}
		if !strings.Contains(sum.String(), "pruned:     ConfigMap "+pruneNS+"/orders-extra") {
			t.Errorf("summary does not list the pruned object:\n%s", sum)
		}
	})

	t.Run("an unchanged deploy prunes too", func(t *testing.T) {
		deployOK(ctx, t, e.nsOpts(pruneNS, e.ordersV2, extra)) // the same digest: a no-op that applies the ConfigMap
		if !configMapExists(ctx, t, pruneNS, "orders-extra") {
			t.Fatal("the extra ConfigMap was not applied again")
		}
		sum := mustDeploy(ctx, t, e.nsOpts(pruneNS, e.ordersV2), deploy.Unchanged)
		if !slices.Equal(sum.Pruned, []string{"ConfigMap " + pruneNS + "/orders-extra"}) || configMapExists(ctx, t, pruneNS, "orders-extra") {
			t.Errorf("pruned %v", sum.Pruned)
		}
	})
	// The canary test's namespace gets its extra ConfigMap removed again.
	deployOK(ctx, t, e.nsOpts(canaryNS, e.orders))
}

// deployOK deploys and accepts either a rollout or a no-op (what the other
// tests left in the namespace decides which).
func deployOK(ctx context.Context, t *testing.T, o deploy.Options) *deploy.Summary {
	t.Helper()
	sum, err := deploy.Run(ctx, o)
	if err != nil || (sum.Outcome != deploy.Deployed && sum.Outcome != deploy.Unchanged) {
		t.Fatalf("deploy %s to %s: %v", o.Image, o.Namespace, err)
	}
	return sum
}

// load sends GET /v1/orders/{id}-like requests to a Service, each on a new
// connection so that every ready endpoint gets its share, and records when
// each failure happened.
type load struct {
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	requests int
	failures []time.Time
}

func startLoad(ctx context.Context, base string) *load {
	ctx, cancel := context.WithCancel(ctx)
	l := &load{cancel: cancel, done: make(chan struct{})}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/orders", nil)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				failed := err != nil
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					failed = resp.StatusCode != http.StatusOK
				}
				l.mu.Lock()
				l.requests++
				if failed {
					l.failures = append(l.failures, time.Now())
				}
				l.mu.Unlock()
				time.Sleep(5 * time.Millisecond) // pacing of the load, not a wait for a condition
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

// count is how many requests the load has made so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// more waits (with a deadline) until the load has made n more requests.
func (l *load) more(ctx context.Context, n int) error {
	want := l.count() + n
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for l.count() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the load made %d of %d more requests: %w", l.count()-want+n, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func (l *load) stop() (int, []time.Time) {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests, slices.Clone(l.failures)
}

func canaryOpts(ns, image string) deploy.Options {
	o := e.nsOpts(ns, image)
	o.Strategy = deploy.StrategyCanary
	o.Canary = deploy.CanaryOptions{Window: 30 * time.Second, Interval: 2 * time.Second,
		Thresholds: deploy.Thresholds{MinRequests: 50}}
	return o
}

func noCanaryLeft(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	if _, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "orders-canary", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the canary Deployment is still there (%v)", err)
	}
	pods, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: deploy.TrackLabel + "=canary"})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("canary pods left: %d (%v)", len(pods.Items), err)
	}
}

// TestCanary: a release that is ready and healthy but answers 3 in 10
// requests with 500 is stopped by the canary with the measured error ratio,
// only the canary's share of requests ever fails, and the namespace keeps
// the stable digest; a good release passes the canary.
func TestCanary(t *testing.T) {
	ctx := context.Background()
	deployOK(ctx, t, e.nsOpts(canaryNS, e.orders))
	base := e.serviceURL(ctx, t, canaryNS)

	t.Run("a release failing a share of its requests is stopped", func(t *testing.T) {
		l := startLoad(ctx, base)
		sum, err := deploy.Run(ctx, canaryOpts(canaryNS, errorsImage))
		returned := time.Now()
		// Keep the load on a little after deploy returned (100 more
		// requests): nothing may fail then.
		if err := l.more(ctx, 100); err != nil {
			t.Error(err)
		}
		requests, failures := l.stop()
		var de *deploy.Error
		if !errors.As(err, &de) || sum.Outcome != deploy.CanaryFailed {
			t.Fatalf("deploy: %v (summary %v), want the canary to fail", err, sum)
		}
		t.Logf("\n%s", sum)
		c := sum.Canary
		if c == nil || c.Verdict != deploy.VerdictFail || !strings.Contains(err.Error(), "canary error ratio") {
			t.Fatalf("canary report %+v, error %v: want the measured error ratio as the reason", c, err)
		}
		if c.Canary.ErrorRatio < 0.2 || c.Canary.ErrorRatio > 0.4 || c.Stable.ErrorRatio != 0 {
			t.Errorf("measured canary error ratio %.3f, stable %.3f; want about 0.3 and 0", c.Canary.ErrorRatio, c.Stable.ErrorRatio)
		}
		t.Logf("figures: the bad canary answered %v requests (%v with 5xx) before the verdict, %s after the canary was created (ready after %s); load: %d requests, %d failed (%.1f%%)",
			c.Canary.Requests, c.Canary.Errors, time.Duration(c.VerdictAfter).Round(time.Millisecond), time.Duration(c.ReadyAfter).Round(time.Millisecond),
			requests, len(failures), 100*float64(len(failures))/float64(max(requests, 1)))
		if len(failures) == 0 {
			t.Error("no request failed: the canary never got traffic")
		}
		if share := float64(len(failures)) / float64(requests); share > 0.3/3+0.05 {
			t.Errorf("%.1f%% of the load failed, more than the canary's share (1 of 3 pods) of 30%%", 100*share)
		}
		for _, f := range failures {
			if f.After(returned) {
				t.Errorf("a request failed at %s, after deploy returned at %s", f.Format("15:04:05.000"), returned.Format("15:04:05.000"))
				break
			}
		}
		noCanaryLeft(ctx, t, canaryNS)
		e.checkRunning(ctx, t, canaryNS, e.orders)
	})

	t.Run("an interrupted canary leaves the stable digest", func(t *testing.T) {
		l := startLoad(ctx, base)
		defer l.stop()
		ictx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for ictx.Err() == nil {
				d, err := e.admin.AppsV1().Deployments(canaryNS).Get(ictx, "orders-canary", metav1.GetOptions{})
				if err == nil && d.Status.ReadyReplicas > 0 {
					cancel()
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		sum, err := deploy.Run(ictx, canaryOpts(canaryNS, e.ordersV2))
		// An interruption is reported as one (not as a failed canary), and
		// says it stopped in the canary.
		if err == nil || sum == nil || sum.Outcome != deploy.Interrupted || sum.Interrupted == nil ||
			sum.Interrupted.Stage != deploy.StageCanary || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("interrupted deploy: %v (summary %v), want the canary stopped as interrupted", err, sum)
		}
		noCanaryLeft(ctx, t, canaryNS)
		e.checkRunning(ctx, t, canaryNS, e.orders)
	})

	t.Run("too little traffic fails the canary", func(t *testing.T) {
		o := canaryOpts(canaryNS, e.ordersV2)
		o.Canary.Window = 4 * time.Second
		sum, err := deploy.Run(ctx, o)
		if err == nil || sum.Outcome != deploy.CanaryFailed || !strings.Contains(err.Error(), "too little traffic") {
			t.Fatalf("deploy without traffic: %v, want the canary to fail for too little traffic", err)
		}
		noCanaryLeft(ctx, t, canaryNS)
		e.checkRunning(ctx, t, canaryNS, e.orders)
	})

	t.Run("a good release passes the canary", func(t *testing.T) {
		l := startLoad(ctx, base)
		sum, err := deploy.Run(ctx, canaryOpts(canaryNS, e.ordersV2))
		requests, failures := l.stop()
		if err != nil {
			t.Fatalf("deploy: %v", err)
		}
		t.Logf("\n%s", sum)
		if sum.Outcome != deploy.Deployed || sum.Strategy != deploy.StrategyCanary || sum.Canary.Verdict != deploy.VerdictPass {
			t.Fatalf("outcome %s strategy %s canary %+v", sum.Outcome, sum.Strategy, sum.Canary)
		}
		if len(failures) != 0 {
			t.Errorf("%d of %d requests failed during a good canary release", len(failures), requests)
		}
		noCanaryLeft(ctx, t, canaryNS)
		e.checkRunning(ctx, t, canaryNS, e.ordersV2)

		l = startLoad(ctx, base)
		rolling := e.nsOpts(canaryNS, e.orders)
		rolling.Strategy = deploy.StrategyRolling
		rsum := mustDeploy(ctx, t, rolling, deploy.Deployed)
		_, rfail := l.stop()
		if len(rfail) != 0 {
			t.Errorf("%d requests failed during the rolling update", len(rfail))
		}
		t.Logf("figures: a good canary release took %s (window %s), the same change as a rolling update %s: %s longer",
			time.Duration(sum.Duration).Round(time.Millisecond), time.Duration(sum.Canary.Window), time.Duration(rsum.Duration).Round(time.Millisecond),
			(time.Duration(sum.Duration) - time.Duration(rsum.Duration)).Round(time.Millisecond))
	})
}

// TestHealth: an applied object that kstatus judges Failed fails the deploy
// like a failed rollout (rolled back, nothing pruned), and the next deploy
// without it prunes it.
func TestHealth(t *testing.T) {
	ctx := context.Background()
	deployOK(ctx, t, e.nsOpts(canaryNS, e.orders))
	applyCRD(ctx, t, "testdata/widget-crd.yaml")
	o := e.nsOpts(canaryNS, e.ordersV2, "components/test/stalled-widget")
	// Discovery needs a moment to serve the new group.
	dry := o
	dry.DryRunOnly = true
	var err error
	for i := 0; i < 40; i++ {
		if _, err = deploy.Run(ctx, dry); err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dry run with the Widget: %v", err)
	}
	sum, err := deploy.Run(ctx, o)
	if err == nil || sum.Outcome != deploy.RolledBack || !strings.Contains(err.Error(), "Widget "+canaryNS+"/stalled is Failed: the widget cannot make progress") {
		t.Fatalf("deploy with a stalled Widget: %v (outcome %v), want it rolled back naming the Widget", err, sum)
	}
	t.Logf("\n%s", sum)
	var widget *deploy.ObjectHealth
	for i := range sum.Health {
		if sum.Health[i].Object == "Widget "+canaryNS+"/stalled" {
			widget = &sum.Health[i]
		}
	}
	if widget == nil || widget.Status != "Failed" || len(sum.Pruned) != 0 {
		t.Errorf("health %+v pruned %v", sum.Health, sum.Pruned)
	}
	e.checkRunning(ctx, t, canaryNS, e.orders)
	next := deployOK(ctx, t, e.nsOpts(canaryNS, e.orders))
	if !slices.Contains(next.Pruned, "Widget "+canaryNS+"/stalled") {
		t.Errorf("the next deploy pruned %v, want the Widget", next.Pruned)
	}
}
