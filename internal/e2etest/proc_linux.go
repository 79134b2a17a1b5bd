package e2etest

import (
	"os/exec"
	"syscall"
)

// detach makes cmd a process-group leader that receives sig when the test
// binary dies, so a crashed or timed-out test leaves no daemon behind.
func detach(cmd *exec.Cmd, sig syscall.Signal) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}
