//go:build cluster

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/testenv/cluster"
	"github.com/go-aks/pipeline/internal/testenv/registry"
)

// TestClusterRunsPodsAndCleansUp starts the cluster twice in a row; each time
// a two-replica Deployment of a real image from the cluster's registry must
// answer through its Service's ClusterIP, the namespace kubeconfigs must be
// limited to their namespace, and Stop must leave nothing behind.
func TestClusterRunsPodsAndCleansUp(t *testing.T) {
	if err := cluster.CheckHost(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin := buildHello(ctx, t)
	sysctls := readSysctls(t)
	for round := 1; round <= 2; round++ {
		t.Run(fmt.Sprintf("start%d", round), func(t *testing.T) {
			t0 := time.Now()
			opts := cluster.Options{}
			if round == 2 {
				// The second cluster also pulls from a registry that needs credentials.
				opts.Registries = []registry.Config{{Username: "puller", Password: "pull-secret-123"}}
			}
			hostBefore := hostEntries(t)
			c, err := cluster.Start(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("cluster started in %s", time.Since(t0).Round(time.Millisecond))
			dir := c.Dir
			stopped := false
			defer func() {
				if !stopped {
					_ = c.Stop(ctx)
				}
			}()
			checkPodsServe(ctx, t, c, bin)
			checkNamespaceLimits(ctx, t, c)
			t1 := time.Now()
			if err := c.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			stopped = true
			t.Logf("cluster stopped in %s", time.Since(t1).Round(time.Millisecond))
			checkNothingLeft(ctx, t, dir, hostBefore)
			if got := readSysctls(t); got != sysctls {
				t.Errorf("kernel settings changed by the cluster:\nbefore %s\nafter  %s", sysctls, got)
			}
		})
	}
}

func buildHello(ctx context.Context, t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./testdata/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hello: %v\n%s", err, b)
	}
	return out
}

func checkPodsServe(ctx context.Context, t *testing.T, c *cluster.Cluster, bin string) {
	t.Helper()
	idx, err := imagebuild.Index(ctx, []imagebuild.Binary{{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Path: bin}}, imagebuild.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Push(ctx, "hello", idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Registries) > 0 {
		r := c.Registries[0]
		if _, err := cluster.PushIndex(ctx, r.Host, "hello", idx, nil); err == nil {
			t.Fatal("anonymous push to the authenticated registry succeeded")
		}
		ref, err = cluster.PushIndex(ctx, r.Host, "hello", idx, []remote.Option{remote.WithAuth(r.Authenticator())})
		if err != nil {
			t.Fatal(err)
		}
	}
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "hello"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "hello", Image: ref,
					Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	t0 := time.Now()
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	svc, err = cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "hello", metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas == 2 {
			break
		}
		if time.Now().After(deadline) {
			pods, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			for _, p := range pods.Items {
				t.Logf("pod %s: %s %+v", p.Name, p.Status.Phase, p.Status.ContainerStatuses)
			}
			t.Fatalf("deployment not ready after 2m")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("2 replicas ready in %s", time.Since(t0).Round(time.Millisecond))
	url := "http://" + svc.Spec.ClusterIP + "/"
	seen := map[string]bool{}
	var last error
	// kube-proxy programs a new endpoint shortly after the pod turns ready.
	for deadline := time.Now().Add(30 * time.Second); len(seen) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		body, err := get(ctx, url)
		if err != nil {
			last = err
			continue
		}
		if !strings.HasPrefix(body, "hello from hello-") {
			t.Fatalf("unexpected answer %q", body)
		}
		seen[body] = true
	}
	if len(seen) < 2 {
		t.Fatalf("Service %s did not reach both pods (saw %v, last error %v)", url, seen, last)
	}
}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func checkNamespaceLimits(ctx context.Context, t *testing.T, c *cluster.Cluster) {
	t.Helper()
	for _, ns := range []string{"staging", "production"} {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfigs[ns])
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("%s kubeconfig cannot list deployments in its namespace: %v", ns, err)
		}
		other := "production"
		if ns == other {
			other = "staging"
		}
		if _, err := cs.AppsV1().Deployments(other).List(ctx, metav1.ListOptions{}); err == nil {
			t.Errorf("%s kubeconfig can list deployments in %s", ns, other)
		}
	}
}

// hostDirs are the machine-wide directories containerd, the CNI plugins and
// kubelet write to whatever they are configured with. Other software (a
// containerd of the machine's own) may use them too, so the leak check
// looks only at what appeared there while this cluster ran.
var hostDirs = []string{"/run/containerd/s", "/var/lib/cni/results", "/var/lib/kubelet/device-plugins", "/var/log/containers"}

// hostEntries lists what hostDirs and the k8s.io cgroups hold now.
func hostEntries(t *testing.T) map[string]bool {
	t.Helper()
	roots := append([]string(nil), hostDirs...)
	cg, err := filepath.Glob("/sys/fs/cgroup/*/k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	roots = append(roots, append(cg, "/sys/fs/cgroup/k8s.io")...)
	seen := map[string]bool{}
	for _, r := range roots {
		err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // gone meanwhile, or never there
				}
				return err
			}
			if strings.HasPrefix(p, "/sys/fs/cgroup/") && !d.IsDir() {
				return nil // a cgroup's control files come and go with it
			}
			seen[p] = true
			return nil
		})
		if err != nil {
			t.Fatalf("list %s: %v", r, err)
		}
	}
	return seen
}

// listening reports whether a unix socket accepts connections (a socket of
// a process that still runs, not one left behind).
func listening(ctx context.Context, path string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// output runs a system tool the check relies on and fails the test when it
// cannot: a missing or failing tool must not make the check pass.
func output(ctx context.Context, t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("leak check: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkNothingLeft asserts that a stopped cluster left nothing of its own:
// its working directory, mounts and processes under it, the node's network
// namespace, host veth and route, host iptables rules naming its addresses,
// and (among what appeared in the machine-wide directories since before
// it started) files, dead sockets and cgroups.
func checkNothingLeft(ctx context.Context, t *testing.T, dir string, before map[string]bool) {
	t.Helper()
	for p := range hostEntries(t) {
		if before[p] {
			continue
		}
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSocket != 0 && listening(ctx, p) {
			continue // a live socket: some other program's, created meanwhile
		}
		t.Errorf("%s appeared while the cluster ran and remains", p)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("working directory %s still exists (%v)", dir, err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), dir) {
		t.Errorf("mounts under %s remain", dir)
	}
	if out := output(ctx, t, "ip", "netns", "list"); strings.Contains(out, "goaks-kube") {
		t.Errorf("network namespace remains: %s", out)
	}
	if out := output(ctx, t, "ip", "-o", "link", "show"); strings.Contains(out, "goaks0") {
		t.Errorf("host veth goaks0 remains: %s", out)
	}
	if out := output(ctx, t, "ip", "route", "show", "198.18.0.0/23"); strings.TrimSpace(out) != "" {
		t.Errorf("host route to the cluster remains: %s", out)
	}
	for _, line := range strings.Split(output(ctx, t, "iptables-save"), "\n") {
		if strings.Contains(line, "198.18.") || strings.Contains(line, "goaks") {
			t.Errorf("host iptables carry a rule of the cluster: %s", line)
		}
	}
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir) {
			t.Errorf("process %s still runs: %q", p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}

// readSysctls reads the machine-wide settings kubelet rewrites; while
// another test cluster runs, its record of the original values.
func readSysctls(t *testing.T) string {
	t.Helper()
	if rec, err := os.ReadFile("/run/goaks-kube.sysctl"); err == nil {
		return strings.Join(strings.Fields(string(rec)), " ")
	}
	var out []string
	for _, k := range []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops", "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"} {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k+"="+strings.TrimSpace(string(b)))
	}
	return strings.Join(out, " ")
}
