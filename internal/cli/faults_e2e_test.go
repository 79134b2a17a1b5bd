package cli

import (
	"encoding/json"
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

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/internal/faultproxy"
)

// The end-to-end tests of "publish always converges": imgctl and BuildKit
// talk to the real distribution registry through a fault-injecting proxy;
// every check reads the registry directly with skopeo.

// fiveImages is the chain library plus a third leaf: five images, four of
// them built on a parent built in the same publish.
const fiveImages = chain + `images: leaf3: {parent: "mid", run: ["echo leaf3 > /leaf3.txt"]}
`

var fiveNames = []string{"base", "mid", "leaf1", "leaf2", "leaf3"}

type faulty struct {
	*e2e
	direct string // the registry itself, for skopeo
	proxy  *faultproxy.Proxy
}

// newFaulty is the five-image library published through a fault proxy.
func newFaulty(t *testing.T, opts ...faultproxy.Option) *faulty {
	e := newE2E(t)
	f := &faulty{e2e: e, direct: e.reg}
	f.proxy, e.reg = e2etest.FaultProxy(t, e.reg, opts...)
	e.src = fiveImages
	e.write()
	return f
}

// skopeoTags lists a repository's tags in the registry itself.
func (f *faulty) skopeoTags(name string) []string {
	var lt struct{ Tags []string }
	require.NoError(f.t, json.Unmarshal(e2etest.Skopeo(f.t, "list-tags", "--tls-verify=false", "docker://"+f.direct+"/e2e/"+name), &lt))
	return lt.Tags
}

// skopeoDigest is what ref points at in the registry itself.
func (f *faulty) skopeoDigest(name, tag string) string {
	var insp struct{ Digest string }
	require.NoError(f.t, json.Unmarshal(e2etest.Skopeo(f.t, "inspect", "--tls-verify=false", "docker://"+f.direct+"/e2e/"+name+":"+tag), &insp))
	return insp.Digest
}

// markerCount counts lifecycle markers naming digest, read from the OCI
// 1.1 fallback index (distribution 2.8 has no referrers API).
func (f *faulty) markerCount(name, digest string) int {
	tag := "sha256-" + strings.TrimPrefix(digest, "sha256:")
	found := false
	for _, t := range f.skopeoTags(name) {
		found = found || t == tag
	}
	if !found {
		return 0
	}
	var idx struct {
		Manifests []struct{ ArtifactType string }
	}
	require.NoError(f.t, json.Unmarshal(e2etest.Skopeo(f.t, "inspect", "--raw", "--tls-verify=false", "docker://"+f.direct+"/e2e/"+name+":"+tag), &idx))
	n := 0
	for _, m := range idx.Manifests {
		if m.ArtifactType == "application/vnd.microsoft.artifact.lifecycle" {
			n++
		}
	}
	return n
}

// converged checks, with skopeo, that every image's latest and moving tags
// point at its newest dated version, every older version is marked and
// tagged -deprecated, and no image repository holds a build cache.
func (f *faulty) converged() {
	f.t.Helper()
	for _, n := range fiveNames {
		tags := f.skopeoTags(n)
		assert.NotContains(f.t, tags, "buildcache", "%s: the build cache lives outside the image repository", n)
		versions := published.VersionTags(tags)
		require.NotEmpty(f.t, versions, n)
		newest := versions[len(versions)-1]
		want := f.skopeoDigest(n, newest)
		moving := []string{"latest"}
		if n == "mid" {
			moving = append(moving, "stable")
		}
		for _, m := range moving {
			assert.Equal(f.t, want, f.skopeoDigest(n, m), "%s:%s points at the newest version %s", n, m, newest)
		}
		for _, v := range versions[:len(versions)-1] {
			assert.Contains(f.t, tags, v+"-deprecated", "%s:%s tagged deprecated", n, v)
			assert.Equal(f.t, 1, f.markerCount(n, f.skopeoDigest(n, v)), "%s:%s carries its marker", n, v)
		}
	}
}

// finish clears the faults and re-runs publish: it must complete without
// building anything.
func (f *faulty) finish(date string) string { return f.rerun(date, false) }

// rerun clears the faults and re-runs publish: it must complete and
// converge, publish at most the versions the interrupted run planned (no
// .1), and build nothing unless mayBuild (the interrupted run had not
// pushed every image yet). A second re-run has nothing to do.
func (f *faulty) rerun(date string, mayBuild bool) string {
	f.t.Helper()
	f.proxy.Clear()
	built, stdout, stderr, code := f.publish(date)
	require.Equal(f.t, 0, code, "re-run:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	if !mayBuild {
		assert.Empty(f.t, built, "nothing is built again")
	}
	for n, v := range built {
		assert.Equal(f.t, strings.ReplaceAll(date, "-", "."), v, "%s: the re-run publishes the version the interrupted run planned", n)
	}
	f.converged()
	code, _, stderr2 := f.run("plan", f.dir, "--date", date, "--detailed-exitcode")
	assert.Equal(f.t, 0, code, "a second re-run has nothing to do:\n%s", stderr2)
	return stderr
}

// twice publishes the library on 2026-11-01 and changes the root, so the
// next publish builds all five and supersedes five versions.
func (f *faulty) publishedThenChanged() {
	f.t.Helper()
	_, stdout, stderr, code := f.publish("2026-11-01")
	require.Equal(f.t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	f.edit(`env: PATH: "/bin"`, `env: {PATH: "/bin", LANG: "C"}`)
}

func TestFaultLatestWritesFailThenRerunConverges(t *testing.T) {
	t.Parallel()
	f := newFaulty(t)
	f.publishedThenChanged()
	old := f.skopeoDigest("mid", "latest")
	f.proxy.SetRules(faultproxy.Rule{Method: "PUT", Path: `/manifests/(latest|stable)$`, Fault: faultproxy.Status503})
	_, stdout, stderr, code := f.publish("2026-11-24", "--retries", "2")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, "retrying registry request", "retries are logged")
	assert.Contains(t, stderr, "HTTP 503")
	assert.Contains(t, f.skopeoTags("mid"), "2026.11.24", "dated tags were written")
	assert.Equal(t, old, f.skopeoDigest("mid", "latest"), "latest stayed behind")

	stderr = f.finish("2026-11-24")
	assert.Contains(t, stderr, "latest points at 2026.11.01, newest is 2026.11.24: interrupted publish?")
}

func TestFaultMarkerWritesFailThenRerunConverges(t *testing.T) {
	t.Parallel()
	f := newFaulty(t)
	f.publishedThenChanged()
	// Markers go to the referrers fallback index, tag sha256-<subject>.
	f.proxy.SetRules(faultproxy.Rule{Method: "PUT", Path: `/manifests/sha256-[0-9a-f]+$`, Fault: faultproxy.Status503})
	_, stdout, stderr, code := f.publish("2026-11-24", "--retries", "1")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, "marking")
	f.finish("2026-11-24")
}

// TestFaultRandomFailuresArePassed: with a fifth of registry requests
// failing with 503 and another fifth reset, a cold publish of five images
// completes on the first try (at least 9 of 10 runs). The runs are one
// after the other: they spend most of their time in retry backoff, so in
// parallel they would hold -parallel's slots with the CPUs idle, while one
// slot leaves the others to tests that use them (make test's -parallel 3).
func TestFaultRandomFailuresArePassed(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const runs = 10
	ok := 0
	var failures []string
	for i := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := newFaulty(t, faultproxy.WithSeed(uint64(i+1)))
			f.proxy.SetRules(
				faultproxy.Rule{Rate: 0.2, Fault: faultproxy.Status503},
				faultproxy.Rule{Rate: 0.2, Fault: faultproxy.Reset},
			)
			built, stdout, stderr, code := f.publish("2026-11-01")
			st := f.proxy.Stats()
			t.Logf("run %d: exit %d, %d requests, %d faults", i, code, st.Requests, st.Faults)
			if code == 0 && len(built) == 5 {
				ok++
				f.proxy.Clear()
				f.converged()
				return
			}
			failures = append(failures, fmt.Sprintf("run %d: exit %d\n%s\n%s", i, code, stdout, tailLines(stderr, 30)))
			t.Logf("run %d failed:\n%s", i, tailLines(stderr, 40))
			f.rerun("2026-11-01", true) // whatever happened, a clean re-run finishes it
		})
	}
	t.Logf("%d of %d publishes completed on the first try", ok, runs)
	assert.GreaterOrEqual(t, ok, 9, "first-try completions; failures:\n%s", strings.Join(failures, "\n"))
}

// TestFaultKilledPublishIsFinished: publish is SIGKILLed at several points
// (held in a registry request there), and a re-run finishes the job.
func TestFaultKilledPublishIsFinished(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := filepath.Join(t.TempDir(), "imgctl")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/imgctl/imgctl/cmd/imgctl").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, c := range []struct {
		point string
		rule  faultproxy.Rule
	}{
		{"while pushing an image", faultproxy.Rule{Method: "PUT", Path: `/e2e/mid/manifests/sha256:`, Fault: faultproxy.Timeout}},
		{"between the dated tags and latest", faultproxy.Rule{Method: "PUT", Path: `/e2e/leaf2/manifests/latest$`, Fault: faultproxy.Timeout}},
		{"while marking", faultproxy.Rule{Method: "PUT", Path: `/manifests/sha256-[0-9a-f]+$`, Fault: faultproxy.Timeout}},
	} {
		t.Run(c.point, func(t *testing.T) {
			f := newFaulty(t)
			f.publishedThenChanged()
			f.proxy.SetRules(c.rule)
			cmd := exec.Command(bin, "publish", f.dir, "--date", "2026-11-24", "--progress", "plain")
			cmd.Env = os.Environ()
			var logs strings.Builder
			cmd.Stdout, cmd.Stderr = &logs, &logs
			require.NoError(t, cmd.Start())
			deadline := time.Now().Add(3 * time.Minute)
			for f.proxy.Stats().Rules[0].Faulted == 0 {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("publish never reached the point\n%s", logs.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			f.rerun("2026-11-24", c.point == "while pushing an image")
		})
	}
}
