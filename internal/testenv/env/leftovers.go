package env

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Leftovers lists what of the footprint of a stopped environment is still on
// the machine: its directories, mounts under them, processes naming them,
// sockets listening on its addresses, the node's network namespace and
// host veth, and host iptables rules naming the cluster's addresses. Empty
// means clean; a check that cannot run is listed too.
func Leftovers(ctx context.Context, fp Footprint) []string {
	var left []string
	for _, d := range fp.Dirs {
		if _, err := os.Stat(d); err == nil {
			left = append(left, "directory "+d)
		}
	}
	if mounts, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mounts), "\n") {
			for _, d := range fp.Dirs {
				if d != "" && strings.Contains(line, d) {
					left = append(left, "mount "+line)
				}
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	self := strconv.Itoa(os.Getpid())
	for _, p := range procs {
		if strings.Contains(p, "/"+self+"/") {
			continue
		}
		b, err := os.ReadFile(filepath.Clean(p))
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		for _, d := range fp.Dirs {
			if d != "" && strings.Contains(cmdline, d) {
				left = append(left, fmt.Sprintf("process %s: %s", filepath.Base(filepath.Dir(p)), cmdline))
				break
			}
		}
	}
	listening := listeningAddrs()
	for _, a := range fp.Addrs {
		if listening[a] {
			left = append(left, "socket listening on "+a)
		}
	}
	// The node's own names only (another container runtime's cni0 or KUBE-
	// rules are not this environment's); a tool that cannot run is reported,
	// so a missing tool never passes for a clean machine.
	check := func(name string, args ...string) string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput() //nolint:gosec // fixed system tools
		if err != nil {
			left = append(left, fmt.Sprintf("cannot check: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out))))
			return ""
		}
		return string(out)
	}
	if out := check("ip", "netns", "list"); strings.Contains(out, "goaks") {
		left = append(left, "network namespace: "+strings.TrimSpace(out))
	}
	for _, line := range strings.Split(check("ip", "-o", "link", "show"), "\n") {
		if strings.Contains(line, "goaks0") {
			left = append(left, "interface "+strings.TrimSpace(line))
		}
	}
	for _, line := range strings.Split(check("iptables-save"), "\n") {
		if strings.Contains(line, "198.18.") || strings.Contains(line, "goaks") {
			left = append(left, "iptables rule "+line)
		}
	}
	return left
}

// listeningAddrs returns the IPv4 addresses with a listening TCP socket in
// this network namespace, as "ip:port".
func listeningAddrs() map[string]bool {
	out := map[string]bool{}
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		ipHex, portHex, ok := strings.Cut(f[1], ":")
		if !ok || len(ipHex) != 8 {
			continue
		}
		b, err := hex.DecodeString(ipHex)
		if err != nil {
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			continue
		}
		ip := net.IPv4(b[3], b[2], b[1], b[0])
		out[net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))] = true
	}
	return out
}

func randomSecret() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("env: generate a password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
