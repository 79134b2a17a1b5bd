package e2etest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Skopeo runs skopeo with args and returns its stdout, failing the test
// with its stderr if it fails. Pass --tls-verify=false yourself for the
// plain-HTTP registries of this package, e.g.
//
//	Skopeo(t, "inspect", "--tls-verify=false", "docker://"+addr+"/repo:tag")
func Skopeo(t testing.TB, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("skopeo")
	if err != nil {
		missing(t, "skopeo not found in PATH (Debian package skopeo)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// BusyboxRootfs returns the path of a tiny rootfs tarball made from the
// host's static busybox: /bin/busybox, /bin/sh and applet symlinks for
// common tools, /tmp, /etc/passwd with root. It is built once by
// hack/rootfs.sh into <repo>/_output/rootfs/ and reused; the same busybox
// gives the same bytes.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	if !isExecutable("/bin/busybox") {
		missing(t, "/bin/busybox not found (Debian package busybox-static)")
	}
	return rootfs(t, "busybox")
}

// BusyboxRootfsFor is [BusyboxRootfs] for a Debian architecture ("amd64",
// "arm64"): for another than the host's, Debian's busybox-static of that
// architecture, downloaded from the host's apt mirror by hack/rootfs.sh.
func BusyboxRootfsFor(t testing.TB, arch string) string {
	t.Helper()
	if arch == runtime.GOARCH {
		return BusyboxRootfs(t)
	}
	return rootfs(t, "busybox-"+arch)
}

// DebianRootfsFor is [DebianRootfs] for a Debian architecture: for
// another than the host's, debootstrap runs its second stage through QEMU
// (hack/install-deps.sh enables the binfmt_misc handlers). Slow: minutes.
func DebianRootfsFor(t testing.TB, arch string) string {
	t.Helper()
	if arch == runtime.GOARCH {
		return DebianRootfs(t)
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		missing(t, "debootstrap not found in PATH (Debian package debootstrap)")
	}
	return rootfs(t, "debian-"+arch)
}

// DebianRootfs returns the path of a Debian bookworm minbase rootfs
// tarball made by debootstrap from the host's apt mirror, whose
// /etc/apt/sources.list points at that mirror. It is built once by
// hack/rootfs.sh into <repo>/_output/rootfs/ (about 20 s, needs root) and
// reused.
func DebianRootfs(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		missing(t, "debootstrap not found in PATH (Debian package debootstrap)")
	}
	if os.Geteuid() != 0 {
		missing(t, "debootstrap needs root")
	}
	return rootfs(t, "debian")
}

func rootfs(t testing.TB, kind string) string {
	t.Helper()
	root := RepoRoot(t)
	out := filepath.Join(root, "_output", "rootfs", kind+".tar")
	if _, err := os.Stat(out); err == nil {
		return out
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "hack", "rootfs.sh"), kind, out)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/rootfs.sh %s %s: %v\n%s", kind, out, err, output.String())
	}
	return out
}

// LinkOrCopy puts the file from at to (a hard link when both are on one
// file system, else a copy), e.g. a rootfs tarball into a spec directory.
func LinkOrCopy(t testing.TB, from, to string) {
	t.Helper()
	if os.Link(from, to) == nil {
		return
	}
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
