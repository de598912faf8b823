package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one component process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProc starts a component; inNetns runs it inside the node's network
// namespace (nsenter execs the binary, so the pid is the component's).
func startProc(name, logDir string, inNetns bool, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // our own log directory
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	if inNetns {
		args = append([]string{"--net=" + netnsPath(), "--", bin}, args...)
		bin = "nsenter"
	}
	// Not CommandContext: components outlive Start's context; Stop ends them.
	cmd := exec.Command(bin, args...) //nolint:gosec,noctx // our own binaries; they outlive the starting context
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// logTail returns the last lines of the component's log for error messages.
func (p *proc) logTail(n int) string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// killShims ends the containerd shims serving our containerd (found by the
// containerd socket path on their command line): they detach from containerd
// and would outlive it.
func killShims(sock string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")) //nolint:gosec // procfs
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		if bytes.Contains(cmdline, []byte(sock)) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// killContainers kills and deletes every container runc knows under root.
func killContainers(ctx context.Context, runcRoot string) {
	nsDirs, err := os.ReadDir(runcRoot)
	if err != nil {
		return
	}
	for _, ns := range nsDirs {
		root := filepath.Join(runcRoot, ns.Name())
		out, err := exec.CommandContext(ctx, "runc", "--root", root, "list", "-q").Output() //nolint:gosec // fixed tool
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(string(out)) {
			_ = exec.CommandContext(ctx, "runc", "--root", root, "kill", "--all", id, "KILL").Run() //nolint:gosec // fixed tool
			_ = exec.CommandContext(ctx, "runc", "--root", root, "delete", "--force", id).Run()     //nolint:gosec // fixed tool
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	dir = filepath.Clean(dir) + "/"
	var errs []error
	for attempt := 0; attempt < 5; attempt++ {
		mounts, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mounts) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, m := range mounts {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			}
		}
	}
	return errors.Join(errs...)
}

func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if strings.HasPrefix(mp+"/", dir) {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// removeLogLinks removes the /var/log/containers links kubelet made to our logs.
func removeLogLinks(dir string) {
	const linkDir = "/var/log/containers"
	entries, err := os.ReadDir(linkDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(linkDir, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, dir) {
			_ = os.Remove(p)
		}
	}
}
