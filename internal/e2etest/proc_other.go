//go:build !linux

package e2etest

import (
	"os/exec"
	"syscall"
)

func detach(cmd *exec.Cmd, _ syscall.Signal) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
