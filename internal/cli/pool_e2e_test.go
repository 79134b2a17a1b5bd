package cli

import (
	"archive/tar"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// poolLibrary is a busybox library: base, mids m1..mids under it, and
// leaves l01..l<leaves> spread over the mids; every image but base writes
// /<name>.txt holding its name (after run, e.g. a sleep). SBOM and
// provenance are off: the pool, not attestations, is under test.
func poolLibrary(mids, leaves int, run string) string {
	var b strings.Builder
	b.WriteString(`package lib

registry: "REGISTRY/e2e"
policy: {sbom: false, provenance: false}
images: base: {
	from:   "scratch"
	rootfs: "busybox.tar"
	env: PATH: "/bin"
}
`)
	step := func(n string) string {
		if run == "" {
			return fmt.Sprintf("%q", "echo "+n+" > /"+n+".txt")
		}
		return fmt.Sprintf("%q, %q", run, "echo "+n+" > /"+n+".txt")
	}
	for i := 1; i <= mids; i++ {
		n := fmt.Sprintf("m%d", i)
		fmt.Fprintf(&b, "images: %s: {parent: \"base\", run: [%s]}\n", n, step(n))
	}
	for i := 1; i <= leaves; i++ {
		n := fmt.Sprintf("l%02d", i)
		fmt.Fprintf(&b, "images: %s: {parent: \"m%d\", run: [%s]}\n", n, (i-1)%mids+1, step(n))
	}
	return b.String()
}

// newPoolE2E is a library dir and a registry; no shared daemon.
func newPoolE2E(t *testing.T, src string) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: needs BuildKit and a registry")
	}
	e := &e2e{t: t, dir: t.TempDir(), reg: e2etest.Registry(t), src: src}
	e2etest.LinkOrCopy(t, e2etest.BusyboxRootfs(t), filepath.Join(e.dir, "busybox.tar"))
	e.write()
	return e
}

// summary is the summary table: image -> digest and daemon.
type summaryRow struct{ digest, daemon string }

func summary(stdout string) map[string]summaryRow {
	row := regexp.MustCompile(`^(\S+)\s+\d{4}\.\d\d\.\d\d(?:\.\d+)?\s+(sha256:[0-9a-f]{64})\s+\S+s\s+(\S+)`)
	out := map[string]summaryRow{}
	for _, l := range strings.Split(stdout, "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			out[m[1]] = summaryRow{m[2], m[3]}
		}
	}
	return out
}

// checkPublished checks from the registry, for every image of src, that
// its latest tag is the digest the summary reports, that its manifest
// names its parent's digest as its base, and (but for base) that its
// last layer holds /<name>.txt with its name.
func (e *e2e) checkPublished(images map[string]string, sum map[string]summaryRow) {
	t := e.t
	t.Helper()
	for img, parent := range images {
		digest, ann := e.manifest(img, "latest")
		require.Contains(t, sum, img)
		assert.Equal(t, sum[img].digest, digest, "%s:latest is the digest built", img)
		assert.Equal(t, []string{"2026.11.01", "latest"}, e.tags(img), img)
		if parent == "" {
			continue
		}
		assert.Equal(t, sum[parent].digest, ann["org.opencontainers.image.base.digest"], "%s is built on %s as just pushed", img, parent)
		assert.Equal(t, img, lastLayerFile(t, e.reg+"/e2e/"+img+":latest", "amd64", img+".txt"), img)
	}
}

// lastLayerFile reads file from the last layer of ref's image for arch.
func lastLayerFile(t *testing.T, ref, arch, file string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	im, err := remote.Image(r, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
	require.NoError(t, err)
	layers, err := im.Layers()
	require.NoError(t, err)
	require.NotEmpty(t, layers)
	rc, err := layers[len(layers)-1].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "%s not in the last layer of %s", file, ref)
		if strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/") == file {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			return strings.TrimSpace(string(b))
		}
	}
}

// parents of poolLibrary's images.
func poolParents(mids, leaves int) map[string]string {
	out := map[string]string{"base": ""}
	for i := 1; i <= mids; i++ {
		out[fmt.Sprintf("m%d", i)] = "base"
	}
	for i := 1; i <= leaves; i++ {
		out[fmt.Sprintf("l%02d", i)] = fmt.Sprintf("m%d", (i-1)%mids+1)
	}
	return out
}

func daemonArgs(ds []*e2etest.Daemon) []string {
	var out []string
	for _, d := range ds {
		out = append(out, "--buildkit", d.Addr)
	}
	return out
}

// TestPoolPublishesAcrossDaemons publishes a 20-image graph on three
// daemons (and an address nobody listens on, dropped with a warning) and
// checks every image from the registry and that every daemon built some.
func TestPoolPublishesAcrossDaemons(t *testing.T) {
	t.Parallel()
	ds := e2etest.BuildKits(t, e2etest.DaemonOptions{}, e2etest.DaemonOptions{}, e2etest.DaemonOptions{})
	e := newPoolE2E(t, poolLibrary(4, 15, ""))
	gone := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	args := append(daemonArgs(ds), "--buildkit", gone, "--jobs", "2")
	_, stdout, stderr, code := e.publish("2026-11-01", args...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	sum := summary(stdout)
	require.Len(t, sum, 20, stdout)
	e.checkPublished(poolParents(4, 15), sum)
	perDaemon := map[string]int{}
	for _, r := range sum {
		perDaemon[r.daemon]++
	}
	for _, d := range ds {
		assert.Positive(t, perDaemon[d.Addr], "daemon %s built nothing: %v", d.Addr, perDaemon)
	}
	assert.Len(t, perDaemon, 3, "only the pool's daemons")
	assert.Regexp(t, `(?m)^BuildKit pool: 3 daemons, 2 builds at a time each: `+regexp.QuoteMeta(ds[0].Addr)+` \[(linux/386 )?linux/amd64[^]]*\], .*; dropped: `+regexp.QuoteMeta(gone)+` \(connecting to BuildKit at `+regexp.QuoteMeta(gone)+`: .*\)$`, stderr)
	assert.Contains(t, stderr, `level=WARN msg="BuildKit daemon unreachable: dropped from the pool; the others build every platform needed" daemon=`+gone)
	t.Logf("builds per daemon: %v", perDaemon)

	// Nothing to do the second time, whichever daemon built what.
	_, stdout, stderr, code = e.publish("2026-11-01", daemonArgs(ds)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "Nothing to do")
}

// TestPoolSurvivesADaemonKilledMidBuild kills one of three daemons
// (SIGKILL) while it runs a step, and checks that the publish completes
// with every tag right, the lost builds done again elsewhere.
func TestPoolSurvivesADaemonKilledMidBuild(t *testing.T) {
	t.Parallel()
	ds := e2etest.BuildKits(t, e2etest.DaemonOptions{}, e2etest.DaemonOptions{}, e2etest.DaemonOptions{})
	e := newPoolE2E(t, poolLibrary(3, 6, "sleep 4"))
	victim := ds[1]
	killed := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			if victim.Running() {
				victim.Kill()
				killed <- true
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		killed <- false
	}()
	_, stdout, stderr, code := e.publish("2026-11-01", append(daemonArgs(ds), "--jobs", "2")...)
	require.True(t, <-killed, "the daemon never ran a step")
	require.True(t, victim.Exited())
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	sum := summary(stdout)
	require.Len(t, sum, 10, stdout)
	e.checkPublished(poolParents(3, 6), sum)
	assert.Contains(t, stderr, `msg="BuildKit daemon down: out of the pool for the rest of the run" daemon=`+victim.Addr)
	assert.Contains(t, stderr, `msg="BuildKit daemon lost during a build: building it again on another daemon"`)
	for img, r := range sum {
		assert.NotEqual(t, victim.Addr, r.daemon, "%s: the killed daemon was killed during its first step", img)
	}
}

// TestPoolSendsMultiPlatformImagesToTheDaemonThatBuildsThem: of two
// daemons only one builds linux/arm64; the two-platform images go there,
// the amd64 ones anywhere. Without that daemon, publish refuses before
// any build, naming it.
func TestPoolSendsMultiPlatformImagesToTheDaemonThatBuildsThem(t *testing.T) {
	t.Parallel()
	ds := e2etest.BuildKits(t, e2etest.DaemonOptions{NativeOnly: true}, e2etest.DaemonOptions{})
	amd, arm := ds[0], ds[1]
	e2etest.RequirePlatforms(t, arm.Addr, "linux/arm64")
	src := strings.Replace(twoPlatforms, `registry: "REGISTRY/e2e"`, "registry: \"REGISTRY/e2e\"\npolicy: {sbom: false, provenance: false}", 1) + `
images: amd2: {parent: "amdonly", run: ["echo amd2 > /amd2.txt"]}
images: amd3: {parent: "amdonly", run: ["echo amd3 > /amd3.txt"]}
images: mid2: {parent: "mid", run: ["uname -m > /arch2"]}
`
	e := newPoolE2E(t, src)
	for arch, f := range map[string]string{"amd64": "busybox-amd64.tar", "arm64": "busybox-arm64.tar"} {
		e2etest.LinkOrCopy(t, e2etest.BusyboxRootfsFor(t, arch), filepath.Join(e.dir, f))
	}

	// The arm64 daemon unreachable: refused up front, naming it.
	gone := "unix://" + filepath.Join(t.TempDir(), "arm.sock")
	_, stdout, stderr, code := e.publish("2026-11-01", "--buildkit", amd.Addr, "--buildkit", gone)
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, "no suitable BuildKit daemon: base (linux/amd64, linux/arm64): no daemon reached builds it; mid (linux/amd64, linux/arm64): no daemon reached builds it; mid2 (linux/amd64, linux/arm64): no daemon reached builds it; "+gone+" is unreachable (connecting to BuildKit at "+gone+": ")
	assert.Contains(t, stderr, amd.Addr+" builds linux/amd64")
	assert.NotContains(t, stdout, "sha256:", "nothing built")

	_, stdout, stderr, code = e.publish("2026-11-01", "--buildkit", amd.Addr, "--buildkit", arm.Addr, "--jobs", "1")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Regexp(t, `(?m)^BuildKit pool: 2 daemons, 1 builds at a time each: `+regexp.QuoteMeta(amd.Addr)+` \[linux/amd64( linux/amd64/v\d)*\], `+regexp.QuoteMeta(arm.Addr)+` \[(linux/386 )?linux/amd64 .*linux/arm64.*\]$`, stderr)
	sum := summary(stdout)
	require.Len(t, sum, 6, stdout)
	for _, img := range []string{"base", "mid", "mid2"} {
		assert.Equal(t, arm.Addr, sum[img].daemon, "%s has two platforms", img)
	}
	var onAMD []string
	for img, r := range sum {
		if r.daemon == amd.Addr {
			onAMD = append(onAMD, img)
		}
	}
	sort.Strings(onAMD)
	assert.NotEmpty(t, onAMD, "the amd64-only daemon took some amd64 images")
	for _, img := range onAMD {
		assert.Contains(t, []string{"amdonly", "amd2", "amd3"}, img)
	}
	for arch, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
		assert.Equal(t, want, lastLayerFile(t, e.reg+"/e2e/mid2:latest", arch, "arch2"), "mid2's RUN on %s", arch)
	}
}

// TestPoolOverMutualTLS: a daemon serving tcp:// with the certificates
// deploy/kubernetes/certs.sh makes, in a pool with a unix:// one. Its
// address carries its own TLS files and the server name of a replica of
// the StatefulSet; without a client certificate it is refused.
func TestPoolOverMutualTLS(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end: needs BuildKit and a registry")
	}
	certs := t.TempDir()
	out, err := exec.Command(filepath.Join(e2etest.RepoRoot(t), "deploy", "kubernetes", "certs.sh"), "ci", certs).CombinedOutput()
	require.NoError(t, err, string(out))
	tcp := "tcp://" + e2etest.FreeAddr(t)
	ds := e2etest.BuildKits(t, e2etest.DaemonOptions{Args: []string{
		"--addr", tcp,
		"--tlscacert", filepath.Join(certs, "daemon", "ca.pem"),
		"--tlscert", filepath.Join(certs, "daemon", "cert.pem"),
		"--tlskey", filepath.Join(certs, "daemon", "key.pem"),
	}}, e2etest.DaemonOptions{})
	e := newPoolE2E(t, poolLibrary(2, 2, ""))

	// No client certificate: the daemon refuses the connection.
	_, stdout, stderr, code := e.publish("2026-11-01", "--buildkit", tcp, "--buildkit-tls-ca", filepath.Join(certs, "client", "ca.pem"), "--buildkit-tls-server-name", "buildkitd-0.buildkitd.ci.svc")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, "imgctl: connecting to BuildKit at "+tcp+": ")
	assert.NotContains(t, stdout, "sha256:")

	client := func(f string) string { return filepath.Join(certs, "client", f) }
	withTLS := tcp + "?tlsca=" + client("ca.pem") + "&tlscert=" + client("cert.pem") + "&tlskey=" + client("key.pem") + "&tlsservername=buildkitd-0.buildkitd.ci.svc"
	_, stdout, stderr, code = e.publish("2026-11-01", "--buildkit", withTLS, "--buildkit", ds[1].Addr, "--jobs", "1")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	sum := summary(stdout)
	require.Len(t, sum, 5, stdout)
	e.checkPublished(poolParents(2, 2), sum)
	perDaemon := map[string]int{}
	for _, r := range sum {
		perDaemon[r.daemon]++
	}
	assert.Positive(t, perDaemon[tcp], "the mTLS daemon built some: %v", perDaemon)
	assert.Positive(t, perDaemon[ds[1].Addr], "the unix daemon built some: %v", perDaemon)
	assert.NotContains(t, stdout+stderr, "tlskey=", "the TLS files stay out of the output")
}
