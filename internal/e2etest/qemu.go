package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
)

// binfmtDir is where the kernel's binfmt_misc is mounted (by
// hack/install-deps.sh binfmt: nothing mounts it at boot on these hosts).
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuHandlers maps the architecture of a platform to the binfmt_misc
// handler qemu-user-static registers for it.
var qemuHandlers = map[string]string{
	"arm64":    "qemu-aarch64",
	"arm":      "qemu-arm",
	"riscv64":  "qemu-riscv64",
	"s390x":    "qemu-s390x",
	"ppc64le":  "qemu-ppc64le",
	"mips64le": "qemu-mips64el",
	"loong64":  "qemu-loongarch64",
}

// handlerEnabled reports whether binfmt_misc is enabled and its handler
// name ("qemu-aarch64") is registered and enabled.
func handlerEnabled(name string) bool {
	status, err := os.ReadFile(filepath.Join(binfmtDir, "status"))
	if err != nil || strings.TrimSpace(string(status)) != "enabled" {
		return false
	}
	entry, err := os.ReadFile(filepath.Join(binfmtDir, name))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(entry), "\n")
	return first == "enabled"
}

// enableEmulation registers the QEMU user-emulation handlers with
// hack/install-deps.sh binfmt, unless qemu-aarch64 already is, so that a
// buildkitd started afterwards builds linux/arm64 (it detects emulators
// when it starts). It returns why emulation is not available, or "": a
// daemon without it still builds native images, and RequirePlatforms
// reports the reason to the tests that need more.
func enableEmulation(root string) string {
	if handlerEnabled("qemu-aarch64") {
		return ""
	}
	script := filepath.Join(root, "hack", "install-deps.sh")
	out, err := exec.Command(script, "binfmt").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s binfmt failed (%v): %s", script, err, lastLine(out))
	}
	if !handlerEnabled("qemu-aarch64") {
		return fmt.Sprintf("%s binfmt did not enable %s/qemu-aarch64", script, binfmtDir)
	}
	return ""
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// RequirePlatforms skips t (or fails it when IMGCTL_E2E is set, see
// [EnvRequire]) unless the BuildKit daemon at addr builds for every platform
// in want, e.g. "linux/arm64": its workers must list them. A foreign
// platform is listed only when its QEMU handler was registered before the
// daemon started (hack/install-deps.sh binfmt); the message says which of
// the two is missing. An unreachable daemon or a malformed platform fails
// t.
func RequirePlatforms(t testing.TB, addr string, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	have, err := WorkerPlatforms(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	var lacking []string
	for _, w := range want {
		p, err := platforms.Parse(w)
		if err != nil {
			t.Fatalf("RequirePlatforms: %v", err)
		}
		if n := platforms.Format(platforms.Normalize(p)); !slices.Contains(have, n) {
			lacking = append(lacking, n)
		}
	}
	if len(lacking) == 0 {
		return
	}
	missing(t, fmt.Sprintf("BuildKit at %s does not build for %s (its workers' platforms: %s): %s",
		addr, strings.Join(lacking, ", "), strings.Join(have, ", "), emulationHint(lacking)))
}

// WorkerPlatforms returns the platforms the workers of the BuildKit daemon
// at addr build for, normalised ("linux/arm64", "linux/arm/v7"), in the
// order the daemon lists them.
func WorkerPlatforms(ctx context.Context, addr string) ([]string, error) {
	c, err := client.New(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to BuildKit at %s: %w", addr, err)
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the workers of BuildKit at %s: %w", addr, err)
	}
	var out []string
	for _, w := range ws {
		for _, p := range w.Platforms {
			if s := platforms.Format(platforms.Normalize(p)); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// emulationHint says why a daemon lacks the platforms lacking.
func emulationHint(lacking []string) string {
	var unregistered, registered, unknown []string
	for _, pl := range lacking {
		arch := pl
		if p, err := platforms.Parse(pl); err == nil {
			arch = p.Architecture
		}
		switch h, ok := qemuHandlers[arch]; {
		case !ok:
			unknown = append(unknown, pl)
		case handlerEnabled(h):
			registered = append(registered, h)
		default:
			unregistered = append(unregistered, h)
		}
	}
	var hints []string
	if len(unregistered) > 0 {
		h := fmt.Sprintf("QEMU user emulation is not set up (%s not enabled in %s): run hack/install-deps.sh binfmt as root, then restart the daemon", strings.Join(unregistered, ", "), binfmtDir)
		if shared.emulation != "" {
			h += " (" + shared.emulation + ")"
		}
		hints = append(hints, h)
	}
	if len(registered) > 0 {
		hints = append(hints, fmt.Sprintf("%s is registered, so the daemon was started before it: restart the daemon (hack/buildkitd.sh restart DIR)", strings.Join(registered, ", ")))
	}
	if len(unknown) > 0 {
		hints = append(hints, fmt.Sprintf("no QEMU handler is known for %s", strings.Join(unknown, ", ")))
	}
	return strings.Join(hints, "; ")
}

// qemuVersion returns the first line of `qemu-aarch64-static --version`.
func qemuVersion() (string, error) {
	out, err := exec.Command("qemu-aarch64-static", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("running qemu-aarch64-static --version: %w", err)
	}
	first, _, _ := bytes.Cut(out, []byte("\n"))
	return string(first), nil
}
