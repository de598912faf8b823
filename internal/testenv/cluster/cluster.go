// Package cluster starts a real single-node Kubernetes cluster for tests and
// the release rehearsal: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler (built from hack/kube with toolbin), containerd and runc
// from Debian, kubelet and kube-proxy in iptables mode, CNI bridge
// networking, and a distribution registry the node pulls from.
//
// The node runs in its own network namespace (see netns.go) joined to the
// host by a veth pair in 198.18.0.0/15; Stop removes every process, mount,
// interface and iptables rule the cluster created. One cluster runs at a time
// per machine: Start waits for a machine-wide lock.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/testenv/registry"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// KubeLDFlags stamp the Kubernetes version into the binaries; without them
// clients cannot parse the server version.
const KubeLDFlags = "-X k8s.io/component-base/version.gitVersion=v1.34.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34"

// KubePackages are the binaries the cluster runs, from hack/kube's tool block.
var KubePackages = []string{
	"github.com/go-aks/pipeline/hack/kube/cmd/etcd",
	"github.com/go-aks/pipeline/hack/kube/cmd/pause",
	"k8s.io/kubernetes/cmd/kube-apiserver",
	"k8s.io/kubernetes/cmd/kube-controller-manager",
	"k8s.io/kubernetes/cmd/kube-scheduler",
	"k8s.io/kubernetes/cmd/kubelet",
	"k8s.io/kubernetes/cmd/kube-proxy",
}

// NodeName is the name of the cluster's only node.
const NodeName = "node-1"

const (
	apiServerPort = 6443
	cniBinDir     = "/usr/lib/cni"
	lockPath      = "/run/goaks-kube.lock"
	statePath     = "/run/goaks-kube.dir"
)

// Options configure Start.
type Options struct {
	// Namespaces get a namespace-scoped deployer kubeconfig each
	// (Cluster.Kubeconfigs). Default: staging and production.
	Namespaces []string
	// BinDir holds prebuilt binaries named as in KubePackages. Empty: built
	// from hack/kube with toolbin (about ten minutes once, cached after).
	BinDir string
	// Registries are extra registries to start on HostIP (the node pulls
	// from them; credentials, when set, go into containerd's hosts entry as
	// an Authorization header, the way AKS gives kubelet access to an
	// attached ACR).
	Registries []registry.Config
	// LogDir keeps the components' logs after Stop. Empty: logs live in the
	// cluster's directory and are removed with it.
	LogDir string
	// Logger receives progress messages; default slog.Default().
	Logger *slog.Logger
}

// Cluster is a running single-node cluster.
type Cluster struct {
	// Dir is the cluster's working directory (removed by Stop).
	Dir string
	// Server is the API server URL.
	Server string
	// AdminKubeconfig is a cluster-admin kubeconfig (client certificate).
	AdminKubeconfig string
	// Kubeconfigs maps each of Options.Namespaces to a kubeconfig whose
	// user may only manage that namespace (client certificate, Role).
	Kubeconfigs map[string]string
	// CAFile is the cluster CA certificate (PEM).
	CAFile string
	// HostIP is the host's address on the cluster network: pods reach
	// services listening on the host (the test PostgreSQL) here.
	HostIP string
	// NodeIP is the node's address (NodePorts answer here).
	NodeIP string
	// Registry is the cluster's own plain-HTTP registry on HostIP.
	Registry *registry.Registry
	// Registries are the started Options.Registries, in order.
	Registries []*registry.Registry
	// LogDir holds the components' logs.
	LogDir string

	log      *slog.Logger
	host     hostSnapshot
	procs    []*proc
	lock     *os.File
	d        dirs
	keepLogs bool
}

type dirs struct {
	root, pki, etcd, containerdRoot, containerdState, containerdSock, runcRoot,
	certsD, cniConf, cniIPAM, kubeletRoot, podLogs, logs string
}

func newDirs(root string) dirs {
	return dirs{
		root:            root,
		pki:             filepath.Join(root, "pki"),
		etcd:            filepath.Join(root, "etcd"),
		containerdRoot:  filepath.Join(root, "containerd", "root"),
		containerdState: filepath.Join(root, "containerd", "state"),
		containerdSock:  filepath.Join(root, "containerd", "containerd.sock"),
		runcRoot:        filepath.Join(root, "runc"),
		certsD:          filepath.Join(root, "containerd", "certs.d"),
		cniConf:         filepath.Join(root, "cni", "net.d"),
		cniIPAM:         filepath.Join(root, "cni", "ipam"),
		kubeletRoot:     filepath.Join(root, "kubelet"),
		podLogs:         filepath.Join(root, "pod-logs"),
		logs:            filepath.Join(root, "logs"),
	}
}

// requiredTools are the host programs the cluster needs, with their Debian packages.
var requiredTools = []struct{ path, pkg string }{
	{"containerd", "containerd"},
	{"containerd-shim-runc-v2", "containerd"},
	{"runc", "runc"},
	{"iptables", "iptables"},
	{"conntrack", "conntrack"},
	{"ip", "iproute2"},
	{"nsenter", "util-linux"},
	{"sysctl", "procps"},
	{cniBinDir + "/bridge", "containernetworking-plugins"},
	{cniBinDir + "/host-local", "containernetworking-plugins"},
	{cniBinDir + "/portmap", "containernetworking-plugins"},
	{cniBinDir + "/loopback", "containernetworking-plugins"},
}

// CheckHost reports what the machine lacks to run a cluster: root and the
// Debian packages of requiredTools.
func CheckHost() error {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "must run as root (the node needs network namespaces, mounts and iptables)")
	}
	missing := map[string]bool{}
	var pkgs []string
	for _, t := range requiredTools {
		var err error
		if strings.HasPrefix(t.path, "/") {
			_, err = os.Stat(t.path)
		} else {
			_, err = exec.LookPath(t.path)
		}
		if err != nil && !missing[t.pkg] {
			missing[t.pkg] = true
			pkgs = append(pkgs, t.pkg)
			problems = append(problems, fmt.Sprintf("%s not found", t.path))
		}
	}
	if len(pkgs) > 0 {
		problems = append(problems, "install with: apt-get install "+strings.Join(pkgs, " "))
	}
	if len(problems) > 0 {
		return errors.New("cluster: this machine cannot run the test cluster: " + strings.Join(problems, "; "))
	}
	return nil
}

// Start brings up the cluster and returns when the node is Ready, kube-proxy
// is serving and every namespace has its kubeconfig.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if err := CheckHost(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(opts.Namespaces) == 0 {
		opts.Namespaces = []string{"staging", "production"}
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir, err = toolbin.Build(ctx, toolbin.Spec{Module: "hack/kube", Packages: KubePackages, LDFlags: KubeLDFlags,
			FirstBuild: "about 8 minutes on 2 cores", Logger: log})
		if err != nil {
			return nil, fmt.Errorf("cluster: build the Kubernetes binaries: %w", err)
		}
	}
	for _, p := range KubePackages {
		if _, err := os.Stat(filepath.Join(binDir, filepath.Base(p))); err != nil {
			return nil, fmt.Errorf("cluster: %s missing from Options.BinDir %s (leave BinDir empty to build it): %w", filepath.Base(p), binDir, err)
		}
	}

	lock, err := acquireLock(ctx, log)
	if err != nil {
		return nil, err
	}
	cleanupLeftovers(ctx, log)
	sweepStale(ctx)
	if err := restoreSysctls(); err != nil {
		log.WarnContext(ctx, "could not restore the kernel settings an earlier cluster changed", "error", err)
	}
	host := snapshotHost()

	root, err := os.MkdirTemp("", "goaks-cluster-")
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("cluster: create working directory: %w", err)
	}
	d := newDirs(root)
	if opts.LogDir != "" {
		d.logs = opts.LogDir
	}
	c := &Cluster{
		Dir: root, Server: "https://" + net.JoinHostPort(HostIP, strconv.Itoa(apiServerPort)),
		Kubeconfigs: map[string]string{}, HostIP: HostIP, NodeIP: NodeIP, LogDir: d.logs,
		log: log, host: host, lock: lock, d: d, keepLogs: opts.LogDir != "",
	}
	defer func() {
		if err != nil {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
	}()
	if err := os.WriteFile(statePath, []byte(root), 0o600); err != nil {
		return nil, fmt.Errorf("cluster: record working directory: %w", err)
	}
	for _, dir := range []string{d.etcd, d.containerdRoot, d.containerdState, d.runcRoot, d.certsD, d.cniConf, d.cniIPAM, d.kubeletRoot, d.podLogs, d.logs} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("cluster: create %s: %w", dir, err)
		}
	}
	if err := setupNetwork(ctx); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := c.start(ctx, binDir, opts); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, binDir string, opts Options) error {
	d := c.d
	bin := func(n string) string { return filepath.Join(binDir, n) }
	t0 := time.Now()

	// Registries on the host side of the veth, reachable from the node.
	reg, err := registry.Start(ctx, registry.Config{ListenAddr: net.JoinHostPort(HostIP, "0")})
	if err != nil {
		return fmt.Errorf("start the cluster registry: %w", err)
	}
	c.Registry = reg
	for i, rc := range opts.Registries {
		if rc.ListenAddr == "" {
			rc.ListenAddr = net.JoinHostPort(HostIP, "0")
		}
		r, err := registry.Start(ctx, rc)
		if err != nil {
			return fmt.Errorf("start registry %d of Options.Registries: %w", i, err)
		}
		c.Registries = append(c.Registries, r)
	}
	for _, r := range append([]*registry.Registry{c.Registry}, c.Registries...) {
		if err := c.AddRegistryWithAuth(r.Host, r.Username, r.Password); err != nil {
			return err
		}
	}
	pause, err := imagebuild.Index(ctx, []imagebuild.Binary{{
		Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Path: bin("pause"),
	}}, imagebuild.Options{User: "65535:65535"})
	if err != nil {
		return fmt.Errorf("assemble the pause image: %w", err)
	}
	pauseRef, err := c.Push(ctx, "pause", pause)
	if err != nil {
		return fmt.Errorf("push the pause image: %w", err)
	}

	// Certificates.
	p, err := newPKI(d.pki)
	if err != nil {
		return err
	}
	c.CAFile = p.CAFile
	caPEM, err := os.ReadFile(p.CAFile)
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	serving, err := p.issue("apiserver", "kube-apiserver", nil,
		[]net.IP{net.ParseIP(HostIP), net.ParseIP("127.0.0.1"), net.ParseIP(apiServerServiceIP)},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return err
	}
	kubeletClient, err := p.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, nil)
	if err != nil {
		return err
	}
	saKey, saPub, err := p.serviceAccountKey()
	if err != nil {
		return err
	}
	users := []struct{ file, cn, org string }{
		{"admin", "admin", "system:masters"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"scheduler", "system:kube-scheduler", ""},
		{"kubelet", "system:node:" + NodeName, "system:nodes"},
		{"kube-proxy", "system:kube-proxy", ""},
	}
	kubeconfigs := map[string]string{}
	for _, u := range users {
		var orgs []string
		if u.org != "" {
			orgs = []string{u.org}
		}
		cert, err := p.issue(u.file, u.cn, orgs, nil, nil)
		if err != nil {
			return err
		}
		path := filepath.Join(d.root, u.file+".kubeconfig")
		if err := writeKubeconfig(path, c.Server, caPEM, u.cn, cert, "", ""); err != nil {
			return err
		}
		kubeconfigs[u.file] = path
	}
	c.AdminKubeconfig = kubeconfigs["admin"]

	// etcd.
	clientPort, err := freePort(ctx)
	if err != nil {
		return err
	}
	peerPort, err := freePort(ctx)
	if err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := c.run("etcd", false, bin("etcd"),
		"--name=default", "--data-dir="+d.etcd,
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL, "--unsafe-no-fsync=true", "--log-level=warn"); err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", nil, 30*time.Second); err != nil {
		return err
	}

	// Control plane.
	if err := c.run("kube-apiserver", false, bin("kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address="+HostIP, "--advertise-address="+HostIP, "--secure-port="+strconv.Itoa(apiServerPort),
		"--service-cluster-ip-range="+ServiceCIDR,
		"--client-ca-file="+p.CAFile, "--tls-cert-file="+serving.CertFile, "--tls-private-key-file="+serving.KeyFile,
		"--kubelet-client-certificate="+kubeletClient.CertFile, "--kubelet-client-key="+kubeletClient.KeyFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--authorization-mode=Node,RBAC", "--allow-privileged=true", "--profiling=false",
		"--cert-dir="+filepath.Join(d.root, "apiserver")); err != nil {
		return err
	}
	admin, err := c.Clientset()
	if err != nil {
		return err
	}
	if err := c.waitAPIServer(ctx, admin, 90*time.Second); err != nil {
		return err
	}
	if err := c.run("kube-controller-manager", false, bin("kube-controller-manager"),
		"--kubeconfig="+kubeconfigs["controller-manager"],
		"--service-account-private-key-file="+saKey, "--root-ca-file="+p.CAFile,
		"--use-service-account-credentials=true", "--leader-elect=false", "--secure-port=0",
		"--service-cluster-ip-range="+ServiceCIDR, "--concurrent-deployment-syncs=5",
		"--node-monitor-grace-period=60s"); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", false, bin("kube-scheduler"),
		"--kubeconfig="+kubeconfigs["scheduler"], "--leader-elect=false", "--secure-port=0"); err != nil {
		return err
	}

	// Node: containerd, kubelet, kube-proxy inside the node's network namespace.
	conf := filepath.Join(d.root, "containerd", "config.toml")
	if err := os.WriteFile(conf, []byte(containerdConfig(d, pauseRef)), 0o600); err != nil {
		return fmt.Errorf("write containerd config: %w", err)
	}
	cni, err := cniConflist(d.cniIPAM)
	if err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d.cniConf, "10-goaks.conflist"), []byte(cni), 0o600); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	if err := c.run("containerd", true, "containerd", "--config", conf); err != nil {
		return err
	}
	if err := c.waitFile(ctx, "containerd", d.containerdSock, 30*time.Second); err != nil {
		return err
	}
	if err := saveSysctls(); err != nil {
		return err
	}
	kubeletConf := filepath.Join(d.root, "kubelet-config.yaml")
	if err := os.WriteFile(kubeletConf, []byte(kubeletConfig(d, p.CAFile)), 0o600); err != nil {
		return fmt.Errorf("write kubelet config: %w", err)
	}
	if err := c.run("kubelet", true, bin("kubelet"),
		"--config="+kubeletConf, "--kubeconfig="+kubeconfigs["kubelet"],
		"--root-dir="+d.kubeletRoot, "--cert-dir="+filepath.Join(d.kubeletRoot, "pki"),
		"--hostname-override="+NodeName, "--node-ip="+NodeIP, "--v=1"); err != nil {
		return err
	}
	proxyConf := filepath.Join(d.root, "kube-proxy-config.yaml")
	if err := os.WriteFile(proxyConf, []byte(kubeProxyConfig(kubeconfigs["kube-proxy"])), 0o600); err != nil {
		return fmt.Errorf("write kube-proxy config: %w", err)
	}
	if err := c.run("kube-proxy", true, bin("kube-proxy"), "--config="+proxyConf, "--v=1"); err != nil {
		return err
	}

	// Namespaces, each with a deployer limited to it.
	for _, ns := range opts.Namespaces {
		path, err := c.namespaceKubeconfig(ctx, admin, p, caPEM, ns)
		if err != nil {
			return err
		}
		c.Kubeconfigs[ns] = path
	}

	if err := c.waitNodeReady(ctx, admin, 2*time.Minute); err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, "kube-proxy", "http://"+NodeIP+":10256/healthz", nil, time.Minute); err != nil {
		return err
	}
	for _, ns := range opts.Namespaces {
		if err := c.waitServiceAccount(ctx, admin, ns, time.Minute); err != nil {
			return err
		}
	}
	c.log.InfoContext(ctx, "test cluster ready", "server", c.Server, "took", time.Since(t0).Round(time.Millisecond), "dir", d.root)
	return nil
}

func (c *Cluster) run(name string, inNetns bool, bin string, args ...string) error {
	p, err := startProc(name, c.d.logs, inNetns, bin, args...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// failed returns an error naming a component that exited, with its log tail.
func (c *Cluster) failed() error {
	for _, p := range c.procs {
		if p.exited() {
			status := "exit status 0"
			if p.err != nil {
				status = p.err.Error()
			}
			return fmt.Errorf("%s exited (%s); last log lines:\n%s", p.name, status, p.logTail(20))
		}
	}
	return nil
}

func (c *Cluster) waitFor(ctx context.Context, what string, timeout time.Duration, ok func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := c.failed(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		done, err := ok()
		if done {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%s not ready after %s", what, timeout)
			if last != nil {
				msg += ": " + last.Error()
			}
			for _, p := range c.procs {
				if strings.HasPrefix(what, p.name) {
					msg += "\nlast log lines of " + p.name + ":\n" + p.logTail(20)
				}
			}
			return errors.New(msg)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *Cluster) waitHTTP(ctx context.Context, what, url string, client *http.Client, timeout time.Duration) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	return c.waitFor(ctx, what, timeout, func() (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("%s answered %s", url, resp.Status)
	})
}

func (c *Cluster) waitFile(ctx context.Context, what, path string, timeout time.Duration) error {
	return c.waitFor(ctx, what, timeout, func() (bool, error) {
		_, err := os.Stat(path)
		return err == nil, err
	})
}

func (c *Cluster) waitAPIServer(ctx context.Context, cs *kubernetes.Clientset, timeout time.Duration) error {
	return c.waitFor(ctx, "kube-apiserver", timeout, func() (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", err
	})
}

func (c *Cluster) waitNodeReady(ctx context.Context, cs *kubernetes.Clientset, timeout time.Duration) error {
	return c.waitFor(ctx, "kubelet (node Ready)", timeout, func() (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, fmt.Errorf("node %s: %s", cond.Reason, cond.Message)
			}
		}
		return false, errors.New("node has no Ready condition yet")
	})
}

func (c *Cluster) waitServiceAccount(ctx context.Context, cs *kubernetes.Clientset, ns string, timeout time.Duration) error {
	return c.waitFor(ctx, "kube-controller-manager (default service account in "+ns+")", timeout, func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// namespaceKubeconfig creates the namespace, a Role limited to it and a
// kubeconfig for a user bound to that Role.
func (c *Cluster) namespaceKubeconfig(ctx context.Context, cs *kubernetes.Clientset, p *pki, caPEM []byte, ns string) (string, error) {
	user := "deployer-" + ns
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create namespace %s: %w", ns, err)
	}
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	read := []string{"get", "list", "watch"}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"services", "serviceaccounts", "configmaps", "secrets"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"pods", "events", "endpoints"}, Verbs: read},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: read},
			{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: all},
			{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: all},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: all},
			{APIGroups: []string{"secrets-store.csi.x-k8s.io"}, Resources: []string{"secretproviderclasses"}, Verbs: all},
		},
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create Role deployer in %s: %w", ns, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "deployer"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create RoleBinding deployer in %s: %w", ns, err)
	}
	cert, err := p.issue(user, user, nil, nil, nil)
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, ns+".kubeconfig")
	if err := writeKubeconfig(path, c.Server, caPEM, user, cert, "", ns); err != nil {
		return "", err
	}
	return path, nil
}

// Clientset is a cluster-admin client.
func (c *Cluster) Clientset() (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig)
	if err != nil {
		return nil, fmt.Errorf("cluster: load admin kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: admin client: %w", err)
	}
	return cs, nil
}

// AddRegistry lets the node pull from another plain-HTTP registry at host
// (HOST:PORT reachable from the node, normally on HostIP). containerd reads
// the entry on each pull.
func (c *Cluster) AddRegistry(host string) error {
	return c.AddRegistryWithAuth(host, "", "")
}

// AddRegistryWithAuth is AddRegistry for a registry that needs credentials:
// the node sends them with every request to host.
func (c *Cluster) AddRegistryWithAuth(host, username, password string) error {
	dir := filepath.Join(c.d.certsD, host)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cluster: registry entry for %s: %w", host, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(registryHostsTOML(host, username, password)), 0o600); err != nil {
		return fmt.Errorf("cluster: registry entry for %s: %w", host, err)
	}
	return nil
}

// Push pushes an image index to the cluster's registry as repo and returns
// its digest reference (HOST/REPO@sha256:...), which pods can pull.
func (c *Cluster) Push(ctx context.Context, repo string, idx v1.ImageIndex) (string, error) {
	return PushIndex(ctx, c.Registry.Host, repo, idx, nil)
}

// PushIndex pushes an index to a plain-HTTP registry host, returning its
// digest reference.
func PushIndex(ctx context.Context, host, repo string, idx v1.ImageIndex, opts []remote.Option) (string, error) {
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", repo, err)
	}
	dg, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("push %s: %w", repo, err)
	}
	ref := r.Digest(dg.String())
	if err := remote.WriteIndex(ref, idx, append([]remote.Option{remote.WithContext(ctx)}, opts...)...); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", repo, host, err)
	}
	return ref.String(), nil
}

// Stop tears everything down: pods and their containers, the components,
// mounts, the node's network namespace (bridge, veths, iptables rules), the
// registries and the working directory. It is safe to call more than once.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil || c.lock == nil {
		return nil
	}
	var errs []error
	byName := map[string]*proc{}
	for _, p := range c.procs {
		byName[p.name] = p
	}
	// The node first: kubelet, so it restarts nothing; then the containers,
	// containerd and its shims; then the control plane.
	byName["kubelet"].stop(10 * time.Second)
	if err := restoreSysctls(); err != nil {
		errs = append(errs, err)
	}
	byName["kube-proxy"].stop(5 * time.Second)
	killContainers(ctx, c.d.runcRoot)
	byName["containerd"].stop(10 * time.Second)
	killShims(c.d.containerdSock)
	for _, n := range []string{"kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		byName[n].stop(10 * time.Second)
	}
	for _, p := range c.procs {
		p.stop(5 * time.Second)
	}
	c.procs = nil
	if err := teardownNetwork(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(c.Dir); err != nil {
		errs = append(errs, err)
	}
	for _, r := range append([]*registry.Registry{c.Registry}, c.Registries...) {
		if r != nil {
			if err := r.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	c.Registry, c.Registries = nil, nil
	removeLogLinks(c.Dir)
	if err := restoreHost(c.host); err != nil {
		errs = append(errs, err)
	}
	sweepStale(ctx)
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.Dir, err))
	}
	_ = os.Remove(statePath)
	_ = c.lock.Close()
	c.lock = nil
	if len(errs) > 0 {
		return fmt.Errorf("cluster: stop: %w", errors.Join(errs...))
	}
	return nil
}

// acquireLock takes the machine-wide cluster lock, waiting for another
// cluster (another test package) to finish.
func acquireLock(ctx context.Context, log *slog.Logger) (*os.File, error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cluster: open lock %s: %w", lockPath, err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) //nolint:gosec // fd fits in int
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("cluster: lock %s: %w", lockPath, err)
		}
		if !logged {
			log.InfoContext(ctx, "another test cluster is running on this machine; waiting for it to stop")
			logged = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("cluster: waiting for another test cluster to stop: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// cleanupLeftovers removes what a cluster killed before its Stop left: its
// namespace's processes and interfaces, containers, shims, mounts and
// directory. It runs under the lock, so nothing alive owns them.
func cleanupLeftovers(ctx context.Context, log *slog.Logger) {
	data, err := os.ReadFile(statePath)
	prev := strings.TrimSpace(string(data))
	_, nsErr := os.Stat(netnsPath())
	if err != nil && nsErr != nil {
		return
	}
	log.InfoContext(ctx, "cleaning up after a test cluster that was not stopped", "dir", prev)
	if prev != "" && filepath.IsAbs(prev) {
		d := newDirs(prev)
		killContainers(ctx, d.runcRoot)
		killShims(d.containerdSock)
	}
	for _, pid := range netnsPIDs(ctx) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = teardownNetwork(ctx)
	if prev != "" && filepath.IsAbs(prev) && strings.HasPrefix(filepath.Base(prev), "goaks-cluster-") {
		_ = unmountUnder(prev)
		removeLogLinks(prev)
		_ = os.RemoveAll(prev) //nolint:gosec // our own earlier working directory, named in our state file and checked above
	}
	_ = os.Remove(statePath)
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
