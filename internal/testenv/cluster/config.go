package cluster

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig for one user, authenticated either by
// client certificate (cert != nil) or by bearer token.
func writeKubeconfig(path, server string, caPEM []byte, user string, cert *certPair, token, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	auth := &clientcmdapi.AuthInfo{Token: token}
	if cert != nil {
		auth.ClientCertificateData = cert.CertPEM
		auth.ClientKeyData = cert.KeyPEM
	}
	cfg.AuthInfos[user] = auth
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: user, Namespace: namespace}
	cfg.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}

func containerdConfig(d dirs, sandboxImage string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = %[5]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[6]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[7]q
  # This sandbox forbids lowering oom_score_adj.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[8]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[9]q
    conf_dir = %[10]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[11]q
`, d.containerdRoot, d.containerdState, d.containerdSock, d.containerdSock+".ttrpc", d.containerdSock+".debug",
		filepath.Join(d.containerdRoot, "opt"), sandboxImage, d.runcRoot, cniBinDir, d.cniConf, d.certsD)
}

// registryHostsTOML is the certs.d entry that makes containerd pull from a
// plain-HTTP registry; with a username, every request carries the basic
// credentials (how an AKS kubelet identity pulls from its attached ACR).
func registryHostsTOML(host, username, password string) string {
	s := fmt.Sprintf(`server = "http://%[1]s"

[host."http://%[1]s"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
`, host)
	if username != "" {
		basic := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
		s += fmt.Sprintf("  [host.\"http://%s\".header]\n    Authorization = [\"Basic %s\"]\n", host, basic)
	}
	return s
}

func cniConflist(ipamDir string) (string, error) {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "goaks",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      bridgeName,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": ipamDir,
					"ranges":  [][]map[string]string{{{"subnet": PodCIDR, "gateway": podGateway}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	return string(b), err
}

func kubeletConfig(d dirs, caFile string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %[1]q
authorization:
  mode: Webhook
address: %[2]q
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: %[3]q
podLogsDir: %[4]q
podCIDR: %[5]q
resolvConf: ""
# No DNS server runs in the test cluster (pods reach the database by IP);
# the address only keeps ClusterFirst pods from falling back with warnings.
clusterDNS: [%[6]q]
clusterDomain: cluster.local
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  imagefs.available: 1%%
  nodefs.inodesFree: 1%%
maxPods: 60
protectKernelDefaults: false
rotateCertificates: false
serverTLSBootstrap: false
localStorageCapacityIsolation: true
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
fileCheckFrequency: 5s
`, caFile, NodeIP, "unix://"+d.containerdSock, d.podLogs, PodCIDR, clusterDNSIP)
}

func kubeProxyConfig(kubeconfig string) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: %[1]q
hostnameOverride: %[2]q
bindAddress: %[3]q
clusterCIDR: %[4]q
healthzBindAddress: %[3]s:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  syncPeriod: 30s
  minSyncPeriod: 0s
`, kubeconfig, NodeName, NodeIP, PodCIDR)
}
