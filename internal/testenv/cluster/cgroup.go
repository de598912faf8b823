package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// hostLeftovers are paths outside the cluster's directory that containerd,
// the CNI plugins and kubelet write to whatever they are told: the shim
// sockets, the CNI result cache, kubelet's device-plugin directory, the
// container log links, and the cgroups containerd's k8s.io namespace uses.
func hostLeftovers() []string {
	paths := []string{"/run/containerd", "/var/lib/cni", "/var/lib/kubelet", "/var/log/containers"}
	ctrls, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, c := range ctrls {
		paths = append(paths, filepath.Join(c, "k8s.io"))
	}
	return paths
}

// hostSnapshot records which of hostLeftovers exist, and their entries.
type hostSnapshot map[string]map[string]bool

func snapshotHost() hostSnapshot {
	s := hostSnapshot{}
	for _, p := range hostLeftovers() {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		entries := map[string]bool{}
		_ = filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
			if err == nil {
				entries[q] = true
			}
			return nil
		})
		s[p] = entries
	}
	return s
}

// restoreHost removes what appeared in hostLeftovers since the snapshot:
// whole paths that did not exist, new entries of those that did. Cgroup
// directories are removed with rmdir (only succeeds once empty).
func restoreHost(before hostSnapshot) error {
	var errs []error
	for _, p := range hostLeftovers() {
		old, existed := before[p]
		var added []string
		_ = filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
			if err == nil && (!existed || !old[q]) {
				added = append(added, q)
			}
			return nil
		})
		// Deepest first.
		sort.Slice(added, func(i, j int) bool { return len(added[i]) > len(added[j]) })
		for _, q := range added {
			var err error
			if strings.HasPrefix(q, "/sys/fs/cgroup/") {
				if st, serr := os.Stat(q); serr == nil && st.IsDir() {
					err = os.Remove(q)
				}
			} else {
				err = os.RemoveAll(q)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", q, err))
			}
		}
	}
	return errors.Join(errs...)
}

// sweepStale removes what an earlier cluster on this machine left outside
// its directory when it was killed before Stop (so its snapshot is lost):
// empty cgroups under k8s.io, shim and kubelet sockets nobody listens on,
// the CNI results of the goaks network, dangling container log links, and
// the directories that are empty afterwards. Everything it removes is
// provably unused, so a containerd or kubelet of the machine's own is safe.
func sweepStale(ctx context.Context) {
	ctrls, _ := filepath.Glob("/sys/fs/cgroup/*/k8s.io")
	for _, c := range ctrls {
		var dirs []string
		_ = filepath.WalkDir(c, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			_ = os.Remove(d) // fails on cgroups in use or with children
		}
	}
	for _, pattern := range []string{"/run/containerd/s/*", "/var/lib/kubelet/device-plugins/*.sock"} {
		socks, _ := filepath.Glob(pattern)
		for _, s := range socks {
			if staleSocket(ctx, s) {
				_ = os.Remove(s)
			}
		}
	}
	results, _ := filepath.Glob("/var/lib/cni/results/goaks-*")
	for _, r := range results {
		id := strings.TrimPrefix(filepath.Base(r), "goaks-")
		if i := strings.LastIndex(id, "-"); i > 0 {
			_ = os.Remove(filepath.Join("/var/lib/cni/results", "cni-loopback-"+id[:i]+"-lo"))
		}
		_ = os.Remove(r)
	}
	links, _ := filepath.Glob("/var/log/containers/*")
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil {
			if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
				_ = os.Remove(l)
			}
		}
	}
	// Directories only go when empty (os.Remove refuses otherwise).
	for _, d := range []string{"/run/containerd/s", "/run/containerd", "/var/lib/cni/results", "/var/lib/cni",
		"/var/lib/kubelet/device-plugins", "/var/lib/kubelet", "/var/log/containers"} {
		_ = os.Remove(d)
	}
}

// staleSocket reports whether path is a unix socket nobody accepts on.
func staleSocket(ctx context.Context, path string) bool {
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&os.ModeSocket == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		_ = conn.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
