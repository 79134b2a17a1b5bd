package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/sbom"
)

func TestMain(m *testing.M) {
	if os.Getenv(asImgctlEnv) == "1" { // a script under test calls imgctl
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	e2etest.Main(m)
}

// chain is a small busybox-based library: base -> mid -> leaf1, leaf2.
const chain = `package lib

registry: "REGISTRY/e2e"
images: base: {
	from:   "scratch"
	rootfs: "busybox.tar"
	env: PATH: "/bin"
	cmd: ["sh"]
}
images: mid: {
	parent: "base"
	run: ["echo mid > /mid.txt"]
	tags: ["stable"]
	description: "the middle"
}
images: leaf1: {
	parent: "mid"
	run: ["echo leaf1 > /leaf1.txt"]
	files: [{src: "data.csv", dest: "/data/data.csv", mode: 0o440}]
}
images: leaf2: {parent: "mid", run: ["echo leaf2 > /leaf2.txt"]}
`

// buildkitHost is set once: the end-to-end tests run in parallel (t.Setenv
// would refuse), all on the one daemon of this test binary.
var buildkitHost sync.Once

// useBuildKit points imgctl (BUILDKIT_HOST) at the test binary's daemon,
// and at the SBOM scanner pushed once for the test binary
// (IMGCTL_SBOM_SCANNER): publish makes SBOMs by default.
func useBuildKit(t *testing.T) string {
	t.Helper()
	addr := e2etest.BuildKit(t)
	scanner := sharedScanner(t)
	buildkitHost.Do(func() {
		os.Setenv("BUILDKIT_HOST", addr)
		os.Setenv(scannerEnv, scanner)
	})
	return addr
}

type e2e struct {
	t        *testing.T
	dir, reg string
	src      string
}

var scannerImage struct {
	once sync.Once
	ref  string
	err  error
}

// sharedScanner pushes imgctl's SBOM scanner image, once per test binary,
// to an in-process registry that lives as long as the binary, and returns
// its digest reference: tests pin it (IMGCTL_SBOM_SCANNER) so that those
// not about the scanner's own push do not push it to every registry they
// start.
func sharedScanner(t *testing.T) string {
	t.Helper()
	dir := e2etest.ScannerDir(t)
	addr := e2etest.BuildKit(t)
	scannerImage.once.Do(func() {
		l, err := sbom.FindLocal(dir)
		if err != nil {
			scannerImage.err = err
			return
		}
		// Not closed: it serves the scanner to the daemon for the rest
		// of the test binary's life.
		s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		repo := strings.TrimPrefix(s.URL, "http://") + "/imgctl-cache"
		ctx := context.Background()
		bc, err := build.New(ctx, addr)
		if err != nil {
			scannerImage.err = err
			return
		}
		defer bc.Close()
		scannerImage.ref, _, scannerImage.err = l.Ensure(ctx, regclient.New(), bc, repo, true, nil)
	})
	if scannerImage.err != nil {
		t.Fatalf("pushing the SBOM scanner: %v", scannerImage.err)
	}
	return scannerImage.ref
}

func newE2E(t *testing.T) *e2e {
	if testing.Short() {
		t.Skip("end-to-end: needs BuildKit and a registry")
	}
	e := &e2e{t: t, dir: t.TempDir(), reg: e2etest.Registry(t), src: chain}
	useBuildKit(t)
	b, err := os.ReadFile(e2etest.BusyboxRootfs(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "busybox.tar"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "data.csv"), []byte("a,b\n1,2\n"), 0o644))
	e.write()
	return e
}

func (e *e2e) write() {
	src := strings.ReplaceAll(e.src, "REGISTRY", e.reg)
	require.NoError(e.t, os.WriteFile(filepath.Join(e.dir, "lib.cue"), []byte(src), 0o644))
}

func (e *e2e) edit(old, new string) {
	require.Contains(e.t, e.src, old)
	e.src = strings.Replace(e.src, old, new, 1)
	e.write()
}

func (e *e2e) run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// publish runs imgctl publish and returns the images built, from the summary.
func (e *e2e) publish(date string, extra ...string) (built map[string]string, stdout, stderr string, code int) {
	e.t.Helper()
	code, stdout, stderr = e.run(append([]string{"publish", e.dir, "--date", date, "--progress", "plain"}, extra...)...)
	built = map[string]string{}
	row := regexp.MustCompile(`^(\S+)\s+(\d{4}\.\d\d\.\d\d(?:\.\d+)?)\s+(sha256:[0-9a-f]{64})\s`)
	for _, l := range strings.Split(stdout, "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			built[m[1]] = m[2]
		}
	}
	return built, stdout, stderr, code
}

func (e *e2e) tags(repo string) []string {
	var lt struct{ Tags []string }
	require.NoError(e.t, json.Unmarshal(e2etest.Skopeo(e.t, "list-tags", "--tls-verify=false", "docker://"+e.reg+"/e2e/"+repo), &lt))
	var out []string
	for _, t := range lt.Tags {
		if !strings.HasPrefix(t, "sha256-") { // a buildcache tag would fail the comparisons
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func (e *e2e) manifest(repo, tag string) (digest string, annotations map[string]string) {
	var insp struct {
		Digest string
	}
	require.NoError(e.t, json.Unmarshal(e2etest.Skopeo(e.t, "inspect", "--tls-verify=false", "docker://"+e.reg+"/e2e/"+repo+":"+tag), &insp))
	var raw struct{ Annotations map[string]string }
	require.NoError(e.t, json.Unmarshal(e2etest.Skopeo(e.t, "inspect", "--raw", "--tls-verify=false", "docker://"+e.reg+"/e2e/"+repo+":"+tag), &raw))
	return insp.Digest, raw.Annotations
}

func TestPublishEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)

	built, stdout, stderr, code := e.publish("2026-11-01")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, map[string]string{"base": "2026.11.01", "mid": "2026.11.01", "leaf1": "2026.11.01", "leaf2": "2026.11.01"}, built)
	assert.Equal(t, []string{"2026.11.01", "latest", "stable"}, e.tags("mid"))
	midDigest, ann := e.manifest("mid", "latest")
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, ann["io.imgctl.content-key"])
	assert.Equal(t, "the middle", ann["org.opencontainers.image.description"])
	baseDigest, _ := e.manifest("base", "2026.11.01")
	assert.Equal(t, baseDigest, ann["org.opencontainers.image.base.digest"])
	for k, v := range ann {
		assert.NotContains(t, v, "2026.11.01", "annotation %s must not carry the tag", k)
		assert.NotContains(t, v, "2026-11-01", "annotation %s must not carry the date", k)
	}
	_, leafAnn := e.manifest("leaf1", "latest")
	assert.Equal(t, midDigest, leafAnn["org.opencontainers.image.base.digest"], "leaf built FROM the mid just pushed")

	// Publishing again right after a success does nothing: no build call.
	built, stdout, _, code = e.publish("2026-11-01")
	require.Equal(t, 0, code)
	assert.Empty(t, built)
	assert.Contains(t, stdout, "Nothing to do")

	// One leaf changed: only it is rebuilt, and its old version is deprecated.
	e.edit("echo leaf2 >", "echo leaf2 v2 >")
	built, _, stderr, code = e.publish("2026-11-02")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"leaf2": "2026.11.02"}, built)
	assert.Equal(t, []string{"2026.11.01", "2026.11.01-deprecated", "2026.11.02", "latest"}, e.tags("leaf2"))

	// The root changed: everything gets a new dated tag; leaf2 a same-day .1.
	e.edit(`env: PATH: "/bin"`, `env: {PATH: "/bin", LANG: "C"}`)
	built, _, stderr, code = e.publish("2026-11-02")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"base": "2026.11.02", "mid": "2026.11.02", "leaf1": "2026.11.02", "leaf2": "2026.11.02.1"}, built)
	d1, _ := e.manifest("leaf2", "2026.11.02.1")
	dl, _ := e.manifest("leaf2", "latest")
	assert.Equal(t, d1, dl)
	dOld, _ := e.manifest("leaf2", "2026.11.01")
	assert.NotEqual(t, dOld, dl, "old versions stay pullable")

	// A build that fails in the middle moves no tag, and says why.
	before := map[string][]string{}
	for _, r := range []string{"base", "mid", "leaf1", "leaf2"} {
		before[r] = e.tags(r)
	}
	e.edit(`"echo mid > /mid.txt"`, `"echo mid > /mid.txt", "echo the-mid-step-broke; exit 3"`)
	built, _, stderr, code = e.publish("2026-11-03")
	assert.Equal(t, 1, code)
	assert.Empty(t, built)
	assert.Contains(t, stderr, "building mid")
	assert.Contains(t, stderr, "the-mid-step-broke")
	assert.Contains(t, stderr, "no tag was moved")
	for r, tags := range before {
		assert.Equal(t, tags, e.tags(r), "tags of %s unchanged", r)
	}
	// Fixed: a re-run finishes the job.
	e.edit(`, "echo the-mid-step-broke; exit 3"`, `, "echo fixed"`)
	built, _, stderr, code = e.publish("2026-11-03")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"mid": "2026.11.03", "leaf1": "2026.11.03", "leaf2": "2026.11.03"}, built)

	// A saved plan is refused once the registry moved.
	e.edit("echo leaf1 >", "echo leaf1 v2 >")
	planFile := filepath.Join(t.TempDir(), "plan.json")
	code, _, stderr = e.run("plan", e.dir, "--date", "2026-11-04", "--out", planFile)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = e.run("plan", e.dir, "--date", "2026-11-04", "--detailed-exitcode")
	assert.Equal(t, 2, code, stderr)
	_, _, stderr, code = e.publish("2026-11-04")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = e.run("publish", "--plan", planFile, "--progress", "quiet")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "plan is stale")
	code, _, _ = e.run("plan", e.dir, "--date", "2026-11-04", "--detailed-exitcode")
	assert.Equal(t, 0, code)

	// status reads it all back from the registry.
	code, stdout, stderr = e.run("status", e.dir, "leaf2", "--json")
	require.Equal(t, 0, code, stderr)
	var st struct {
		Images []struct {
			Name     string
			Latest   string
			Versions []struct {
				Version      string
				Deprecated   bool
				SupersededBy string                           `json:"superseded_by"`
				BuiltOn      *struct{ Image, Version string } `json:"built_on"`
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &st))
	require.Len(t, st.Images, 1)
	assert.Equal(t, "2026.11.03", st.Images[0].Latest)
	var summary []string
	for _, v := range st.Images[0].Versions {
		summary = append(summary, v.Version+" deprecated="+boolText(v.Deprecated)+" by="+v.SupersededBy+" on="+v.BuiltOn.Image+"@"+v.BuiltOn.Version)
	}
	assert.Equal(t, []string{
		"2026.11.03 deprecated=false by= on=mid@2026.11.03",
		"2026.11.02.1 deprecated=true by=2026.11.03 on=mid@2026.11.02",
		"2026.11.02 deprecated=true by=2026.11.02.1 on=mid@2026.11.01",
		"2026.11.01 deprecated=true by=2026.11.02 on=mid@2026.11.01",
	}, summary)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestCacheRepoAndSource: --cache-repo puts the build cache where it says
// (and nowhere in the image repositories); --source is recorded on the
// image; without it and without a network git remote, nothing is.
func TestCacheRepoAndSource(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	_, stdout, stderr, code := e.publish("2026-11-01", "--target", "base", "--cache-repo", e.reg+"/caches", "--source", "https://git.example/org/images.git")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.NotContains(t, stderr, "ERROR", "a missing cache on the first build is not an error")
	var lt struct{ Tags []string }
	require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+e.reg+"/caches/base"), &lt))
	assert.Equal(t, []string{"buildcache"}, lt.Tags)
	assert.Equal(t, []string{"2026.11.01", "latest"}, e.tags("base"), "no buildcache tag among the image's")
	_, ann := e.manifest("base", "latest")
	assert.Equal(t, "https://git.example/org/images.git", ann["org.opencontainers.image.source"])

	// The default cache lives under REGISTRY/imgctl-cache; the spec
	// directory is no git checkout, so no source is recorded.
	_, stdout, stderr, code = e.publish("2026-11-01", "--target", "mid")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+e.reg+"/e2e/imgctl-cache/mid"), &lt))
	assert.Equal(t, []string{"buildcache"}, lt.Tags)
	_, ann = e.manifest("mid", "latest")
	assert.NotContains(t, ann, "org.opencontainers.image.source")
}
