package e2etest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

// EnvBuildKitHost names the environment variable that points BuildKit at
// an already running daemon, as in buildctl.
const EnvBuildKitHost = "BUILDKIT_HOST"

// shared is the buildkitd this test binary started, if any.
var shared struct {
	once    sync.Once
	addr    string
	missing string // why the daemon cannot run here, if it cannot
	// emulation says why QEMU emulation could not be set up before the
	// daemon started, or "" (see enableEmulation).
	emulation string
	err       error
	d         *daemon
	dir       string
}

// BuildKit returns the address of a BuildKit daemon: $BUILDKIT_HOST if set,
// otherwise a daemon started on first use and shared by every test in this
// test binary (<repo>/bin/buildkitd as root, OCI worker with runc, host
// network, state in a temporary directory, QEMU user emulation registered
// first so that it also builds linux/arm64: see [RequirePlatforms]). Call
// [Main] from TestMain to stop it; without that it dies with the test
// binary but leaves its directory behind.
func BuildKit(t testing.TB) string {
	t.Helper()
	skipShort(t)
	if h := os.Getenv(EnvBuildKitHost); h != "" {
		return h
	}
	shared.once.Do(startShared)
	if shared.missing != "" {
		missing(t, shared.missing)
	}
	if shared.err != nil {
		t.Fatalf("starting buildkitd: %v", shared.err)
	}
	return shared.addr
}

func startShared() {
	root, err := repoRoot()
	if err != nil {
		shared.err = err
		return
	}
	bin := filepath.Join(root, "bin", "buildkitd")
	switch {
	case !isExecutable(bin):
		shared.missing = bin + " not found"
		return
	case os.Geteuid() != 0:
		shared.missing = "buildkitd needs root (OCI worker with runc)"
		return
	}
	if _, err := exec.LookPath("runc"); err != nil {
		shared.missing = "runc not found in PATH (Debian package runc)"
		return
	}
	// buildkitd detects emulators when it starts: register them first.
	shared.emulation = enableEmulation(root)
	dir, err := os.MkdirTemp("", "imgctl-buildkitd-")
	if err != nil {
		shared.err = err
		return
	}
	shared.dir = dir
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	d, err := startDaemon(bin, filepath.Join(dir, "buildkitd.log"), syscall.SIGTERM,
		"--root", filepath.Join(dir, "root"),
		"--addr", addr,
		"--oci-worker=true",
		"--containerd-worker=false",
	)
	if err != nil {
		shared.err = err
		return
	}
	shared.d = d
	err = d.waitReady(60*time.Second, func(ctx context.Context) error {
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
		shared.err = err
		return
	}
	shared.addr = addr
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Main runs the tests and then stops what this package started for the
// whole test binary (the shared buildkitd) before exiting with the tests'
// exit code. Use it as
//
//	func TestMain(m *testing.M) { e2etest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintf(os.Stderr, "e2etest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// stopShared stops the shared buildkitd and removes its directory, unless
// something is still mounted below it.
func stopShared() error {
	if shared.d != nil {
		if !shared.d.stop(30 * time.Second) {
			fmt.Fprintf(os.Stderr, "e2etest: buildkitd did not stop within 30s; killed it\n")
		}
	}
	if shared.dir == "" {
		return nil
	}
	if mounts := mountsUnder(shared.dir); len(mounts) > 0 {
		for i := len(mounts) - 1; i >= 0; i-- {
			_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
		}
		if mounts := mountsUnder(shared.dir); len(mounts) > 0 {
			return fmt.Errorf("leaving %s in place: still mounted below it: %s",
				shared.dir, strings.Join(mounts, ", "))
		}
	}
	if err := os.RemoveAll(shared.dir); err != nil {
		return fmt.Errorf("removing buildkitd state: %w", err)
	}
	return nil
}

// mountsUnder lists the mount points below dir, in mount order.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	prefix := filepath.Clean(dir) + "/"
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], prefix) {
			out = append(out, fields[4])
		}
	}
	return out
}
