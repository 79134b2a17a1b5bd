package e2etest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// daemon is a background process started for tests.
type daemon struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has exited
	err     error         // the Wait error, valid once exited is closed
}

// startDaemon starts name with args, output appended to logPath. The
// process gets deathSig when the test binary dies.
func startDaemon(name, logPath string, deathSig syscall.Signal, args ...string) (*daemon, error) {
	return startDaemonEnv(name, logPath, deathSig, nil, args...)
}

// startDaemonEnv is startDaemon with the environment env (nil: this
// process's).
func startDaemonEnv(name, logPath string, deathSig syscall.Signal, env []string, args ...string) (*daemon, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	detach(cmd, deathSig)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// waitReady polls ready until it returns nil, the daemon exits, or timeout
// passes.
func (d *daemon) waitReady(timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		last = ready(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("%s exited during start-up (%v); last lines of %s:\n%s",
				d.name, d.err, d.logPath, tail(d.logPath, 20))
		case <-ctx.Done():
			d.stop(time.Second)
			return fmt.Errorf("%s not ready after %v (%v); last lines of %s:\n%s",
				d.name, timeout, last, d.logPath, tail(d.logPath, 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits up to grace, then sends SIGKILL and waits.
// It reports whether the process stopped within grace.
func (d *daemon) stop(grace time.Duration) bool {
	select {
	case <-d.exited:
		return true
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return true
	case <-time.After(grace):
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return false
}

// hasExited reports whether the process has exited.
func (d *daemon) hasExited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}
