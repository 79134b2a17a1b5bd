package e2etest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/tonistiigi/fsutil"
)

// probeSource is a static program that records the architecture it was
// built for and the machine the kernel (or QEMU) says it runs on.
const probeSource = `package main

import (
	"os"
	"runtime"
	"syscall"
)

func main() {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		panic(err)
	}
	var m []byte
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		m = append(m, byte(c))
	}
	if err := os.WriteFile(os.Args[1], []byte(runtime.GOARCH+" "+string(m)+"\n"), 0o644); err != nil {
		panic(err)
	}
}
`

// TestEmulatedArm64 runs a linux/arm64 RUN step on the shared daemon:
// QEMU user emulation, registered before the daemon started. No arm64
// image is needed: the step runs a cross-compiled static Go program in
// scratch.
func TestEmulatedArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	addr := BuildKit(t)
	RequirePlatforms(t, addr, "linux/arm64")
	if v, err := qemuVersion(); err == nil {
		t.Log(v)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		missing(t, "go not found in PATH (needed to cross-compile the arm64 probe)")
	}
	src, ctxDir, outDir := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "probe.go"), []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command(goBin, "build", "-trimpath", "-o", filepath.Join(ctxDir, "probe"), "probe.go")
	build.Dir = src
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-compiling the probe: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st := llb.Scratch().
		File(llb.Copy(llb.Local("ctx"), "probe", "/probe")).
		Run(llb.Args([]string{"/probe", "/arch"})).Root()
	def, err := st.Marshal(ctx, llb.LinuxArm64)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(ctxDir)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *client.SolveStatus)
	go func() {
		for range ch {
		}
	}()
	_, err = c.Solve(ctx, def, client.SolveOpt{
		LocalMounts: map[string]fsutil.FS{"ctx": fs},
		Exports:     []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: outDir}},
	}, ch)
	if err != nil {
		t.Fatalf("solving an arm64 RUN step: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(outDir, "arch"))
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(got)); s != "arm64 aarch64" {
		t.Errorf("the arm64 step reported %q, want %q", s, "arm64 aarch64")
	}
}

// TestRequirePlatforms checks the helper against the shared daemon: the
// native platform is always there; a platform no worker lists skips (or
// fails) the test with a reason.
func TestRequirePlatforms(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	addr := BuildKit(t)
	RequirePlatforms(t, addr, "linux/amd64")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	have, err := WorkerPlatforms(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worker platforms: %s", strings.Join(have, ", "))
	hint := emulationHint([]string{"linux/arm64", "linux/mips"})
	if !strings.Contains(hint, "qemu-aarch64") || !strings.Contains(hint, "no QEMU handler is known for linux/mips") {
		t.Errorf("emulationHint = %q", hint)
	}
}
