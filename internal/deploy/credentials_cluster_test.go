//go:build cluster

package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/go-aks/pipeline/internal/deploy"
)

// namespace prepares a fresh namespace (with its database settings) and
// deletes it when the test ends.
func (e *env) namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000_000)
	if err := e.te.PrepareNamespace(context.Background(), ns); err != nil {
		t.Fatalf("prepare namespace %s: %v", ns, err)
	}
	t.Cleanup(func() {
		_ = e.admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns
}

// adminOpts deploys to ns with the cluster-admin kubeconfig.
func (e *env) adminOpts(ns, image string, components ...string) deploy.Options {
	o := e.opts("staging", image, components...)
	o.Kubeconfig, o.Namespace = e.c.AdminKubeconfig, ns
	return o
}

// without removes verbs on resources from rules.
func without(rules []rbacv1.PolicyRule, verb string, resources ...string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		r = *r.DeepCopy()
		var keep []string
		for _, res := range r.Resources {
			if !slices.Contains(resources, res) || !slices.Contains(r.Verbs, verb) {
				keep = append(keep, res)
			}
		}
		if len(keep) < len(r.Resources) {
			// Split: the removed resources keep their other verbs.
			others := slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == verb })
			var removed []string
			for _, res := range r.Resources {
				if !slices.Contains(keep, res) {
					removed = append(removed, res)
				}
			}
			if len(others) > 0 {
				out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: removed, Verbs: others})
			}
		}
		if len(keep) > 0 {
			r.Resources = keep
			out = append(out, r)
		}
	}
	return out
}

// identity is a service account bound to a Role with the given rules, and
// a kubeconfig for it that uses relative paths (certificate-authority,
// tokenFile) next to it, as az/kubelogin-made kubeconfigs may.
type identity struct {
	name, kubeconfig, token string
	cs                      *kubernetes.Clientset
}

func (e *env) identity(ctx context.Context, t *testing.T, ns, name string, rules []rbacv1.PolicyRule) identity {
	t.Helper()
	if _, err := e.admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exp := int64(3600)
	tr, err := e.admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	dir := t.TempDir()
	ca, err := os.ReadFile(e.c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pki", "ca.crt"), ca, 0o600); err != nil { //nolint:gosec // inside the test's temporary directory
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: %s\n    certificate-authority: pki/ca.crt\n"+
		"users:\n- name: %s\n  user:\n    tokenFile: token\ncontexts:\n- name: %s\n  context:\n    cluster: test\n    user: %s\n    namespace: %s\ncurrent-context: %s\n",
		e.c.Server, name, name, name, ns, name)
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return identity{name: name, kubeconfig: path, token: tr.Status.Token, cs: cs}
}

// waitAllowed polls until the authorizer answers allowed for the identity
// (RBAC changes reach it through an informer).
func waitAllowed(ctx context.Context, t *testing.T, id identity, ns, group, resource, verb string, allowed bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := id.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Group: group, Resource: resource, Verb: verb}}}, metav1.CreateOptions{})
		if err == nil && r.Status.Allowed == allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s %s.%s allowed=%v never observed (err %v)", id.name, verb, resource, group, allowed, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPreflightRefusesMissingPermissionsBeforeAnyChange: with the README's
// Role less "list pods" and "list events" (what a Role that forgot "read
// pods" gives), deploy changes nothing and names both and the rules that
// grant them; with the README's Role as it is, it deploys. The identity's
// kubeconfig has relative certificate-authority and tokenFile paths.
func TestPreflightRefusesMissingPermissionsBeforeAnyChange(t *testing.T) {
	ctx := context.Background()
	ns := e.namespace(t, "preflight")
	full := deploy.READMERoleRules(t)
	id := e.identity(ctx, t, ns, "limited", without(full, "list", "pods", "events"))
	waitAllowed(ctx, t, id, ns, "apps", "deployments", "patch", true)
	waitAllowed(ctx, t, id, ns, "", "pods", "list", false)

	o := e.opts("staging", e.orders)
	o.Kubeconfig, o.Namespace = id.kubeconfig, ns
	sum, err := deploy.Run(ctx, o)
	var pe *deploy.PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *deploy.PermissionError", err, err)
	}
	t.Logf("refused:\n%v", err)
	var missing []string
	for _, p := range pe.Missing {
		missing = append(missing, p.Verb+" "+p.Resource)
	}
	if !slices.Equal(missing, []string{"list events", "list pods"}) {
		t.Errorf("missing %v, want exactly [list events, list pods]", missing)
	}
	for _, w := range []string{"nothing was changed", "list pods in namespace " + ns + " (watch the rollout", `resources: ["events", "pods"]`, `verbs: ["list"]`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q", w)
		}
	}
	if sum == nil || sum.Outcome != deploy.Failed {
		t.Errorf("summary %+v, want outcome failed", sum)
	}
	if l := deploy.Leaks(err.Error(), id.token); len(l) > 0 {
		t.Errorf("error carries the token: %v", l)
	}
	// Nothing of the rendered objects exists.
	if _, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "orders", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment exists after a refusal (err %v)", err)
	}
	for _, get := range []func() error{
		func() error {
			_, err := e.admin.CoreV1().Services(ns).Get(ctx, "orders", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := e.admin.CoreV1().ServiceAccounts(ns).Get(ctx, "orders", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Errorf("an object exists after a refusal (err %v)", err)
		}
	}

	// The README's Role as it is: the deploy goes through.
	role, err := e.admin.RbacV1().Roles(ns).Get(ctx, id.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = full
	if _, err := e.admin.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAllowed(ctx, t, id, ns, "", "pods", "list", true)
	waitAllowed(ctx, t, id, ns, "", "events", "list", true)
	mustDeploy(ctx, t, o, deploy.Deployed)
	e.checkRunning(ctx, t, ns, e.orders)
}

// TestKubeconfigProblemsNamed: a kubeconfig naming an exec plugin that is
// not installed is reported as such (no "cannot reach"), with the way to a
// kubeconfig that needs none; a current-context naming a missing context
// names it.
func TestKubeconfigProblemsNamed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := clientcmd.LoadFromFile(e.c.Kubeconfigs["staging"])
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, mutate func(*clientcmdapi.Config)) string {
		c := cfg.DeepCopy()
		mutate(c)
		p := filepath.Join(dir, name)
		if err := clientcmd.WriteToFile(*c, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	user := cfg.Contexts[cfg.CurrentContext].AuthInfo
	tests := []struct {
		name string
		kc   string
		want []string
	}{
		{"exec plugin not installed", write("exec", func(cfg *clientcmdapi.Config) {
			ai := cfg.AuthInfos[user]
			ai.ClientCertificateData, ai.ClientKeyData = nil, nil
			ai.Exec = &clientcmdapiExecConfig
		}), []string{`exec plugin "kubelogin"`, "not installed", "no server was contacted", "kubelogin convert-kubeconfig -l azurecli|workloadidentity|spn"}},
		{"current-context names a missing context", write("context", func(cfg *clientcmdapi.Config) { cfg.CurrentContext = "aks-production" }),
			[]string{`current-context "aks-production" names no context`}},
		{"empty file", func() string {
			p := filepath.Join(dir, "empty")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}(), []string{"is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := e.opts("staging", e.orders)
			o.Kubeconfig = tc.kc
			_, err := deploy.Run(ctx, o)
			if err == nil {
				t.Fatal("deploy succeeded")
			}
			t.Logf("%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q", w)
				}
			}
			for _, bad := range []string{"cannot reach", "has no current context"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("misleading %q in the error", bad)
				}
			}
		})
	}
}

// TestForbiddenShowsTheServersMessage: the API server refuses a kubeconfig
// that impersonates another user without the right to (403 with a Status);
// deploy shows the server's message, not "unknown".
func TestForbiddenShowsTheServersMessage(t *testing.T) {
	ctx := context.Background()
	cfg, err := clientcmd.LoadFromFile(e.c.Kubeconfigs["staging"])
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Impersonate = "someone-else"
	p := filepath.Join(t.TempDir(), "impersonating")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	o := e.opts("staging", e.orders)
	o.Kubeconfig = p
	_, err = deploy.Run(ctx, o)
	if err == nil {
		t.Fatal("deploy succeeded")
	}
	t.Logf("%v", err)
	if !strings.Contains(err.Error(), "403 Forbidden") || !strings.Contains(err.Error(), `cannot impersonate resource "users"`) {
		t.Errorf("error does not carry the server's message")
	}
	if strings.Contains(err.Error(), "unknown") {
		t.Errorf(`error says "unknown"`)
	}
}

// TestFailureReasonsAreTheRolloutsOwn: Warning events of the
// HorizontalPodAutoscaler of the same name and of an earlier Deployment of
// the same name (another UID) are not reasons of a failed rollout; the
// Deployment's own are.
func TestFailureReasonsAreTheRolloutsOwn(t *testing.T) {
	ctx := context.Background()
	ns := e.namespace(t, "events")
	mustDeploy(ctx, t, e.adminOpts(ns, e.orders), deploy.Deployed)
	hpa, err := e.admin.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	for _, ev := range []struct {
		kind, apiVersion string
		uid              types.UID
		reason           string
	}{
		{"HorizontalPodAutoscaler", "autoscaling/v2", hpa.UID, "DecoyHPAWarning"},
		{"Deployment", "apps/v1", types.UID("0badd16e-0000-4000-8000-000000000000"), "DecoyEarlierDeployment"},
		{"Deployment", "apps/v1", dep.UID, "OwnDeploymentWarning"},
	} {
		if _, err := e.admin.CoreV1().Events(ns).Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "orders.", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: ev.kind, APIVersion: ev.apiVersion, Name: "orders", Namespace: ns, UID: ev.uid},
			Reason:         ev.reason, Message: "test event for " + ev.kind, Type: corev1.EventTypeWarning,
			FirstTimestamp: now, LastTimestamp: now, Count: 1, Source: corev1.EventSource{Component: "deploy-test"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := deploy.Run(ctx, e.adminOpts(ns, e.crash))
	if err == nil || sum == nil || sum.Outcome != deploy.RolledBack {
		t.Fatalf("outcome %v, err %v; want rolled back", sum, err)
	}
	reasons := strings.Join(sum.Reasons, "\n")
	t.Logf("reasons:\n%s", reasons)
	for _, bad := range []string{"DecoyHPAWarning", "DecoyEarlierDeployment", "horizontalpodautoscaler/"} {
		if strings.Contains(reasons, bad) {
			t.Errorf("reasons carry %q, an event of another object", bad)
		}
	}
	for _, w := range []string{"OwnDeploymentWarning", "exit code 1"} {
		if !strings.Contains(reasons, w) {
			t.Errorf("reasons lack %q", w)
		}
	}
}

// deployBinary builds the real cmd/deploy for the test.
func deployBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "deploy")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/deploy")
	cmd.Dir = e.root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/deploy: %v\n%s", err, out)
	}
	return bin
}

// run is cmd/deploy running as a process, its stderr scanned line by line.
type run struct {
	cmd            *exec.Cmd
	mu             sync.Mutex
	stdout, stderr strings.Builder
	lines          chan string
	done           chan struct{}
}

func startDeploy(t *testing.T, args ...string) *run {
	t.Helper()
	r := &run{cmd: exec.CommandContext(t.Context(), deployBinary(t), args...), lines: make(chan string, 1000), done: make(chan struct{})}
	r.cmd.Stdout = &lockedWriter{mu: &r.mu, b: &r.stdout}
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// waitLine waits for a stderr line containing s.
func (r *run) waitLine(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l := <-r.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-r.done:
			t.Fatalf("deploy ended before printing %q:\n%s", s, r.output())
		case <-deadline:
			t.Fatalf("deploy did not print %q within %s:\n%s", s, timeout, r.output())
		}
	}
}

// wait waits for the process to end and returns its exit code.
func (r *run) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	ch := make(chan error, 1)
	go func() { <-r.done; ch <- r.cmd.Wait() }()
	select {
	case err := <-ch:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("deploy still running %s after the signal:\n%s", timeout, r.output())
		return -1
	}
}

func (r *run) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return "stdout:\n" + r.stdout.String() + "stderr:\n" + r.stderr.String()
}

func readSummary(t *testing.T, path string) deploy.Summary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("summary file: %v", err)
	}
	var s deploy.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary %s: %v", data, err)
	}
	return s
}

func (e *env) applyArgs(ns, image, summary string, extra ...string) []string {
	return append([]string{"apply", "--kubeconfig", e.c.AdminKubeconfig, "--manifests", e.manifests, "--environment", "staging",
		"--namespace", ns, "--image", image, "--timeout", "2m", "--summary-file", summary}, extra...)
}

// TestInterruptedDuringWatch: SIGTERM while deploy watches a rollout is an
// interruption: exit code 143, outcome "interrupted" at the watch stage with
// the revision that serves, no failure and no rollback claimed or made.
func TestInterruptedDuringWatch(t *testing.T) {
	ctx := context.Background()
	ns := e.namespace(t, "intwatch")
	first := mustDeploy(ctx, t, e.adminOpts(ns, e.orders), deploy.Deployed)
	summary := filepath.Join(t.TempDir(), "summary.json")
	// Readiness never comes (the database port is wrong): the watch goes on.
	r := startDeploy(t, e.applyArgs(ns, e.ordersV2, summary, "--component", "components/test/db-unreachable")...)
	r.waitLine(t, "applied; watching the rollout", time.Minute)
	// Wait until the new revision's pod exists, then stop deploy.
	var newRev string
	deadline := time.Now().Add(time.Minute)
	for newRev == "" {
		d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "orders", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=orders"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if len(p.Spec.Containers) > 0 && p.Spec.Containers[0].Image == e.ordersV2 && d.Annotations["deployment.kubernetes.io/revision"] != first.Revision {
				newRev = d.Annotations["deployment.kubernetes.io/revision"]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new revision's pod never appeared:\n%s", r.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t, time.Minute)
	out := r.output()
	t.Logf("exit code %d\n%s", code, out)
	if code != 143 {
		t.Errorf("exit code %d, want 143 (interrupted by SIGTERM)", code)
	}
	for _, bad := range []string{"failure detected", "rollback failed", "rolling back", "rollout failed", "outcome: failed", ": failed\n"} {
		if strings.Contains(out, bad) {
			t.Errorf("output claims %q, which did not happen", bad)
		}
	}
	if !strings.Contains(out, "deploy staging: interrupted") {
		t.Errorf("the summary does not say interrupted")
	}
	s := readSummary(t, summary)
	if s.Outcome != deploy.Interrupted || s.Interrupted == nil {
		t.Fatalf("summary outcome %s, interrupted %+v; want interrupted", s.Outcome, s.Interrupted)
	}
	in := s.Interrupted
	if in.Stage != deploy.StageWatch || in.Cause != "received SIGTERM" || !in.Changed || in.Rollback != deploy.RollbackNotDue {
		t.Errorf("interruption %+v: want stage watch, cause SIGTERM, changed, rollback not due", in)
	}
	if in.TargetRevision != newRev || in.TargetImage != e.ordersV2 || !strings.HasPrefix(in.Rollout, "in progress") {
		t.Errorf("interruption %+v: want revision %s (%s) in progress", in, newRev, e.ordersV2)
	}
	if !slices.ContainsFunc(in.Serving, func(sr deploy.ServingRevision) bool {
		return sr.Revision == first.Revision && sr.Image == e.orders && sr.AvailablePods >= 1
	}) {
		t.Errorf("serving %+v: want revision %s (%s) with available pods", in.Serving, first.Revision, e.orders)
	}
	if len(in.Left) == 0 || !strings.Contains(in.Left[0], "run deploy again with the same --image") {
		t.Errorf("left to do %q", in.Left)
	}
	// No rollback was made: the template is still the new revision's.
	d, err := e.admin.AppsV1().Deployments(ns).Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rev := d.Annotations["deployment.kubernetes.io/revision"]; rev != newRev || d.Spec.Template.Spec.Containers[0].Image != e.ordersV2 {
		t.Errorf("deployment at revision %s image %s after the interruption, want %s %s untouched", rev, d.Spec.Template.Spec.Containers[0].Image, newRev, e.ordersV2)
	}
}

// TestInterruptedDuringRollback: SIGTERM once the rollout is judged failed:
// the rollback that is due runs in its grace period and is reported as done;
// the outcome is "interrupted" (exit code 143) with the failure's reasons.
func TestInterruptedDuringRollback(t *testing.T) {
	ctx := context.Background()
	ns := e.namespace(t, "intrb")
	first := mustDeploy(ctx, t, e.adminOpts(ns, e.orders), deploy.Deployed)
	summary := filepath.Join(t.TempDir(), "summary.json")
	r := startDeploy(t, e.applyArgs(ns, e.crash, summary, "--interrupt-grace", "90s")...)
	r.waitLine(t, "rollout failed", 2*time.Minute)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t, 2*time.Minute)
	out := r.output()
	t.Logf("exit code %d\n%s", code, out)
	if code != 143 {
		t.Errorf("exit code %d, want 143 (interrupted by SIGTERM)", code)
	}
	for _, bad := range []string{"rollback failed", "context canceled"} {
		if strings.Contains(out, bad) {
			t.Errorf("output says %q", bad)
		}
	}
	s := readSummary(t, summary)
	if s.Outcome != deploy.Interrupted || s.Interrupted == nil {
		t.Fatalf("summary outcome %s, interrupted %+v; want interrupted", s.Outcome, s.Interrupted)
	}
	if in := s.Interrupted; in.Stage != deploy.StageRollback || in.Rollback != deploy.RollbackDone {
		t.Errorf("interruption %+v: want stage rollback, rollback done", in)
	}
	if s.FailureDetectedAfter <= 0 || !strings.Contains(strings.Join(s.Reasons, "\n"), "exit code 1") {
		t.Errorf("the failure that did happen is not reported: %+v", s)
	}
	if s.Revision == first.Revision || s.Revision == "" {
		t.Errorf("summary revision %q, want the rollback's new revision", s.Revision)
	}
	e.checkRunning(ctx, t, ns, e.orders)
}

// clientcmdapiExecConfig is a kubelogin exec stanza as az aks get-credentials
// writes for Entra ID clusters.
var clientcmdapiExecConfig = clientcmdapi.ExecConfig{
	APIVersion: "client.authentication.k8s.io/v1beta1", Command: "kubelogin",
	Args:            []string{"get-token", "--login", "devicecode", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"},
	InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
}
