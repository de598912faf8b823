package registry

import "syscall"

// sysProcAttr puts the registry in its own process group and kills it when
// the process that started it dies, so a crashed test leaves nothing behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
