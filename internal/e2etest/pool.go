package e2etest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

// Daemon is a BuildKit daemon of one test (see [BuildKits]).
type Daemon struct {
	// Addr is its unix:// address.
	Addr string
	// Log is the file its output goes to.
	Log string
	d   *daemon
}

// DaemonOptions configure the daemons [BuildKits] starts.
type DaemonOptions struct {
	// NativeOnly makes a daemon that builds only the machine's own
	// platform, although QEMU emulation is registered: its temporary
	// directory is a noexec tmpfs, where buildkitd runs the test binaries
	// that detect emulators, so it finds none. (--oci-worker-platform does
	// not do it: BuildKit v0.34 still appends every emulated platform to
	// the list its workers report.)
	NativeOnly bool
	// Args are more buildkitd arguments, e.g. a tcp:// --addr with
	// --tlscacert, --tlscert and --tlskey (the unix:// socket, which the
	// helper waits on, stays without TLS).
	Args []string
}

// FreeAddr returns "127.0.0.1:PORT" with a port that was free a moment
// ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	a, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// BuildKits starts one buildkitd per entry of opts, all at once, each with
// its own --root and socket in a temporary directory (root, OCI worker,
// runc, QEMU emulation registered first like [BuildKit]'s), and waits
// until every one answers. They are stopped, and their state removed, by
// t.Cleanup. A missing buildkitd, runc or root skips t (fails it with
// IMGCTL_E2E set).
func BuildKits(t testing.TB, opts ...DaemonOptions) []*Daemon {
	t.Helper()
	skipShort(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "buildkitd")
	switch {
	case !isExecutable(bin):
		missing(t, bin+" not found")
	case os.Geteuid() != 0:
		missing(t, "buildkitd needs root (OCI worker with runc)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		missing(t, "runc not found in PATH (Debian package runc)")
	}
	if why := enableEmulation(root); why != "" {
		t.Logf("QEMU emulation: %s", why)
	}
	out := make([]*Daemon, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		// A short path: unix socket paths are limited to 108 bytes.
		dir, err := os.MkdirTemp("", "imgctl-bk-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeState(t, dir) })
		wg.Go(func() { out[i], errs[i] = startOwn(bin, dir, o) })
	}
	wg.Wait()
	for _, d := range out {
		if d != nil {
			t.Cleanup(func() { d.d.stop(10 * time.Second) })
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting buildkitd: %v", err)
	}
	return out
}

func startOwn(bin, dir string, o DaemonOptions) (*Daemon, error) {
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	args := []string{
		"--root", filepath.Join(dir, "root"),
		"--addr", addr,
		"--oci-worker=true",
		"--containerd-worker=false",
	}
	args = append(args, o.Args...)
	var env []string
	if o.NativeOnly {
		tmp := filepath.Join(dir, "tmp")
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return nil, err
		}
		if err := syscall.Mount("tmpfs", tmp, "tmpfs", syscall.MS_NOEXEC|syscall.MS_NOSUID|syscall.MS_NODEV, "size=64m"); err != nil {
			return nil, fmt.Errorf("mounting a noexec tmpfs for a native-only buildkitd: %w", err)
		}
		env = append(os.Environ(), "TMPDIR="+tmp)
	}
	logPath := filepath.Join(dir, "buildkitd.log")
	d, err := startDaemonEnv(bin, logPath, syscall.SIGKILL, env, args...)
	if err != nil {
		return nil, err
	}
	err = d.waitReady(90*time.Second, func(ctx context.Context) error {
		c, err := client.New(ctx, addr)
		if err != nil {
			return err
		}
		defer c.Close()
		ws, err := c.ListWorkers(ctx)
		if err == nil && len(ws) == 0 {
			err = errors.New("no workers yet")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Daemon{Addr: addr, Log: logPath, d: d}, nil
}

// Kill sends SIGKILL to the daemon and waits for it to exit: a daemon
// that dies, with whatever it was building.
func (d *Daemon) Kill() {
	_ = d.d.cmd.Process.Kill()
	<-d.d.exited
}

// Exited reports whether the daemon has exited.
func (d *Daemon) Exited() bool { return d.d.hasExited() }

// removeState unmounts what is left mounted under dir (a killed daemon
// leaves its snapshots mounted) and removes it.
func removeState(t testing.TB, dir string) {
	mounts := mountsUnder(dir)
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
	if left := mountsUnder(dir); len(left) > 0 {
		t.Logf("leaving %s in place: still mounted below it: %v", dir, left)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("removing buildkitd state: %v", fmt.Sprint(err))
	}
}

// Running reports whether the daemon has a child process now: the runc
// of a RUN step it is executing.
func (d *Daemon) Running() bool {
	pid := d.d.cmd.Process.Pid
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces; it ends at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}
