//go:build !linux

package kafkatest

import "syscall"

// sysProcAttr puts the broker in its own process group so Stop and Kill
// reach everything it started. Outside Linux there is no parent-death
// signal: a test process killed with SIGKILL leaves the JVM running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
