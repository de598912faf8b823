package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
