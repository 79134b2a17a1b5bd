package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/signing"
)

// asImgctlEnv makes the test binary run as imgctl (see TestMain), so that
// scripts under test call the code under test without a separate build.
const asImgctlEnv = "IMGCTL_TEST_AS_IMGCTL"

// demoPackages is how many Python distributions the demo library's env
// image holds: enough that `status env --packages` writes well over a pipe
// buffer (64 KiB), so that a reader that stops early (the `| head -n 12` of
// issue 24) always kills the writer with SIGPIPE.
const demoPackages = 2500

// demoLib is a small library with the shape the demo's show steps need:
// a long package list (env), two versions to diff (leaf), signatures.
const demoLib = `package lib

registry: "REGISTRY/demo"
images: base: {
	from:   "scratch"
	rootfs: "busybox.tar"
	env: PATH: "/bin"
	cmd: ["sh"]
}
images: env: {
	parent:      "base"
	description: "many Python distributions, as syft reads them"
	run: ["""
		i=0
		while [ $i -lt COUNT ]; do
			d=/usr/lib/python3/dist-packages/demoprobe$i-1.0.dist-info
			mkdir -p $d
			printf 'Metadata-Version: 2.1\\nName: demoprobe%d\\nVersion: 1.0\\n' $i >$d/METADATA
			i=$((i + 1))
		done
		"""]
}
images: leaf: {
	parent: "env"
	server: "jupyter" // listed by the launchers (the show step writes them)
	run: ["echo VERSION > /leaf.txt"]
	env: LEAF: "VERSION"
}
`

// TestDemoShow runs hack/demo.sh's steps after publishing (`demo.sh show`:
// status, one image's packages, diff, verify, openssl, cosign and skopeo, the
// catalog) against a small library published here, signed, in two
// versions. Issue 24: the demo died of SIGPIPE in `status --packages |
// head` and nothing in make test ran the script.
func TestDemoShow(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	cosignBin := cosignCLI(t)
	e.src = strings.NewReplacer("COUNT", fmt.Sprint(demoPackages), "VERSION", "one").Replace(demoLib)
	e.write()
	keys := t.TempDir()
	key, _ := keyPair(t, keys, "cosign", "s3cret-pw")
	os.Setenv(signing.PasswordEnv, "s3cret-pw") // the value TestAttestationsAndSignatures sets too
	_, stdout, stderr, code := e.publish("2026-11-01", "--sign-key", key)
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	e.edit(`echo one`, `echo two`)
	e.edit(`LEAF: "one"`, `LEAF: "two"`)
	_, stdout, stderr, code = e.publish("2026-11-24", "--sign-key", key)
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)

	catalog := filepath.Join(t.TempDir(), "catalog")
	launchers := filepath.Join(t.TempDir(), "launchers")
	root := e2etest.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "demo.sh"), "show")
	cmd.Env = append(os.Environ(),
		asImgctlEnv+"=1",
		"IMGCTL="+os.Args[0],
		"COSIGN="+cosignBin,
		"DEMO_IMAGES="+e.dir,
		"DEMO_KEYS="+keys,
		"DEMO_CATALOG="+catalog,
		"DEMO_LAUNCHERS="+launchers,
		"DEMO_PACKAGES_OF=env",
		"DEMO_DIFF_OF=leaf",
		"DEMO_SIGNED=leaf",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, err, "hack/demo.sh show:\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())

	got := out.String()
	for _, want := range []string{
		// status
		"leaf", "2026.11.24", "2026.11.01",
		// status env --packages, cut after 12 lines
		"env 2026.11.01 (linux/amd64)", "demoprobe", "…",
		// diff leaf
		"leaf: 2026.11.01 → 2026.11.24", "env LEAF", "one → two",
		// the signature checked with skopeo, jq and openssl, then with
		// cosign verify (COSIGN is set)
		"The signature of " + e.reg + "/demo/leaf@sha256:", "openssl: Verified OK, by cosign.pub", `"critical"`,
		"cosign verify " + e.reg + "/demo/leaf@sha256:",
		// skopeo
		"platforms: linux/amd64",
		// the launchers
		"Wrote " + launchers + "/", "profileList:", "@sha256:",
		// the catalog
		"Open file://" + catalog + "/index.html",
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "demoprobe999 ", "the package list is cut after 12 lines")
	for _, section := range []string{"Status", "What is inside", "What changed", "Verify", "owe nothing", "skopeo", "The catalog"} {
		assert.Contains(t, errOut.String(), section, "each step announces itself on stderr")
	}
	_, err = os.Stat(filepath.Join(catalog, "index.html"))
	assert.NoError(t, err, "the catalog is written")
	for _, f := range []string{"jupyterhub-values.yaml", "spawner_ui_config.yaml", "launchers.json"} {
		_, err = os.Stat(filepath.Join(launchers, f))
		assert.NoError(t, err, "the launchers are written")
	}
}

// TestClosedStdoutIsQuiet: when its reader goes away (`imgctl … | head`),
// imgctl dies of SIGPIPE without a word, as git and kubectl do: the
// conventional status 141 in a shell, nothing on stderr.
func TestClosedStdoutIsQuiet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString("package lib\n\nregistry: \"localhost:5000/x\"\n")
	for i := range 2000 { // a graph far longer than a pipe buffer
		fmt.Fprintf(&src, "images: img%d: {from: \"scratch\", rootfs: \"r.tar\"}\n", i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(src.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r.tar"), nil, 0o644))

	for _, args := range [][]string{{"graph", dir}, {"graph", dir, "--format", "dot"}, {"--help"}} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), asImgctlEnv+"=1")
		r, w, err := os.Pipe()
		require.NoError(t, err)
		require.NoError(t, r.Close()) // the reader is gone before the first write
		var errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = w, &errOut
		err = cmd.Run()
		w.Close()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "imgctl %v: want death by SIGPIPE, got %v", args, err)
		ws, ok := ee.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGPIPE, "imgctl %v: %v", args, err)
		assert.Empty(t, errOut.String(), "imgctl %v says nothing", args)
	}
}
