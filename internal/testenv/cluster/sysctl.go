package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// kubeletSysctls are the machine-wide kernel settings kubelet rewrites at
// start (protectKernelDefaults false). They are not per network namespace,
// so the cluster records them before kubelet starts and restores them at
// Stop; the record survives a killed run in sysctlPath.
var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

const sysctlPath = "/run/goaks-kube.sysctl"

// saveSysctls records the current values, unless a record from a run that
// never restored them exists (then that record holds the originals).
func saveSysctls() error {
	if _, err := os.Stat(sysctlPath); err == nil {
		return nil
	}
	var b strings.Builder
	for _, k := range kubeletSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", k)) //nolint:gosec // fixed procfs paths
		if err != nil {
			return fmt.Errorf("read kernel setting %s: %w", k, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, strings.TrimSpace(string(v)))
	}
	if err := os.WriteFile(sysctlPath, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("record kernel settings: %w", err)
	}
	return nil
}

// restoreSysctls writes the recorded values back and drops the record.
func restoreSysctls() error {
	data, err := os.ReadFile(sysctlPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read recorded kernel settings: %w", err)
	}
	var errs []error
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !known(k) {
			continue
		}
		p := filepath.Join("/proc/sys", k)
		cur, err := os.ReadFile(p) //nolint:gosec // fixed procfs paths
		if err == nil && strings.TrimSpace(string(cur)) == v {
			continue
		}
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil { //nolint:gosec // fixed procfs paths
			errs = append(errs, fmt.Errorf("restore kernel setting %s=%s: %w", k, v, err))
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(sysctlPath)
	}
	return errors.Join(errs...)
}

func known(k string) bool {
	for _, s := range kubeletSysctls {
		if s == k {
			return true
		}
	}
	return false
}
