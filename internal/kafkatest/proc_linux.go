package kafkatest

import "syscall"

// sysProcAttr puts the broker in its own process group, so Stop and Kill
// reach everything it started, and has the kernel SIGKILL it when the test
// process dies: a crashed or timed-out `go test` must not leave a JVM
// holding ports and memory.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
