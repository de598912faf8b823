package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The node (containerd, kubelet, kube-proxy and every pod) lives in its own
// network namespace joined to the host by a veth pair, so the bridge, the
// veths of the pods and every iptables rule kube-proxy and the CNI plugins
// write exist only there: deleting the namespace removes all of them, and the
// host's own iptables and sysctls are never touched.
const (
	netnsName  = "goaks-kube"
	hostVeth   = "goaks0"
	nodeVeth   = "eth0"
	bridgeName = "cni0"

	// HostIP is the host side of the veth pair: the API server and the
	// cluster's registry listen here, and pods reach host services (the test
	// PostgreSQL) at this address.
	HostIP = "198.18.255.1"
	// NodeIP is the node's address (kubelet, NodePorts).
	NodeIP = "198.18.255.2"
	// PodCIDR is the node's pod range.
	PodCIDR    = "198.18.0.0/24"
	podGateway = "198.18.0.1"
	// ServiceCIDR is the ClusterIP range, routed from the host to the node.
	ServiceCIDR = "198.18.1.0/24"
	// apiServerServiceIP is the first address of ServiceCIDR.
	apiServerServiceIP = "198.18.1.1"
	// clusterDNSIP is the (unserved) cluster DNS address pods are given.
	clusterDNSIP = "198.18.1.10"
	linkPrefix   = "/30"
	// hostRoute covers PodCIDR and ServiceCIDR.
	hostRoute = "198.18.0.0/23"
)

func netnsPath() string { return "/run/netns/" + netnsName }

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // fixed system tools with our own arguments
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetwork creates the node's network namespace and the veth pair.
func setupNetwork(ctx context.Context) error {
	steps := [][]string{
		{"ip", "netns", "add", netnsName},
		{"ip", "link", "add", hostVeth, "type", "veth", "peer", "name", nodeVeth, "netns", netnsName},
		{"ip", "addr", "add", HostIP + linkPrefix, "dev", hostVeth},
		{"ip", "link", "set", hostVeth, "up"},
		{"ip", "-n", netnsName, "link", "set", "lo", "up"},
		{"ip", "-n", netnsName, "addr", "add", NodeIP + linkPrefix, "dev", nodeVeth},
		{"ip", "-n", netnsName, "link", "set", nodeVeth, "up"},
		{"ip", "-n", netnsName, "route", "add", "default", "via", HostIP},
		{"ip", "route", "add", hostRoute, "via", NodeIP, "dev", hostVeth},
		{"nsenter", "--net=" + netnsPath(), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		{"nsenter", "--net=" + netnsPath(), "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"},
	}
	for _, s := range steps {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return fmt.Errorf("set up the node network: %w", err)
		}
	}
	return nil
}

// netnsPIDs lists the processes inside the node's network namespace.
func netnsPIDs(ctx context.Context) []int {
	out, err := exec.CommandContext(ctx, "ip", "netns", "pids", netnsName).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// teardownNetwork kills what still runs in the node's namespace and deletes
// it (with the veth pair, the bridge, pod veths and all iptables rules).
func teardownNetwork(ctx context.Context) error {
	if _, err := os.Stat(netnsPath()); err == nil {
		for _, pid := range netnsPIDs(ctx) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(netnsPIDs(ctx)) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if err := run(ctx, "ip", "netns", "delete", netnsName); err != nil {
			return fmt.Errorf("delete the node network namespace: %w", err)
		}
	}
	if err := exec.CommandContext(ctx, "ip", "link", "show", hostVeth).Run(); err == nil { //nolint:gosec // fixed tool
		if err := run(ctx, "ip", "link", "delete", hostVeth); err != nil {
			return fmt.Errorf("delete the host veth: %w", err)
		}
	}
	return nil
}
