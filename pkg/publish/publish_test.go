package publish_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/readmodel"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/internal/faultproxy"
	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// fakeBuilder pushes a small deterministic image per request, carrying the
// request's annotations, and records what it was asked to build FROM.
type fakeBuilder struct {
	mu     sync.Mutex
	fail   string // image name whose build fails
	bases  map[string]string
	attest map[string]build.Attestations
	calls  int
	// cacheHas, when set, is asked at each build with a cache ref what
	// the cache repository holds of the base's layers.
	cacheHas   func(req build.Request) (have, want int)
	cachedBase map[string][2]int
}

// Capabilities: the fake cannot tell its platforms (nothing is checked).
func (b *fakeBuilder) Capabilities(context.Context) (build.Capabilities, error) {
	return build.Capabilities{}, nil
}

func (b *fakeBuilder) Build(ctx context.Context, req build.Request, _ chan *client.SolveStatus) (build.Result, error) {
	b.mu.Lock()
	b.calls++
	if b.bases == nil {
		b.bases = map[string]string{}
	}
	b.bases[req.Image.Name] = req.Base
	if b.attest == nil {
		b.attest = map[string]build.Attestations{}
	}
	b.attest[req.Image.Name] = req.Attest
	fail := b.fail == req.Image.Name
	cacheHas := b.cacheHas
	b.mu.Unlock()
	if cacheHas != nil && req.CacheRef != "" && req.Base != "" {
		have, want := cacheHas(req)
		b.mu.Lock()
		if b.cachedBase == nil {
			b.cachedBase = map[string][2]int{}
		}
		b.cachedBase[req.Image.Name] = [2]int{have, want}
		b.mu.Unlock()
	}
	if fail {
		return build.Result{}, fmt.Errorf(`building %s: step "run: false" failed: exit code 1`, req.Image.Name)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		return build.Result{}, err
	}
	img = mutate.Annotations(img, req.Annotations).(v1.Image)
	repo, err := name.NewRepository(req.Repository)
	if err != nil {
		return build.Result{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return build.Result{}, err
	}
	if err := remote.Write(repo.Digest(d.String()), img, remote.WithContext(ctx)); err != nil {
		return build.Result{}, err
	}
	return build.Result{Digest: d.String()}, nil
}

const lib1 = `package lib

registry: "REGISTRY/ds"
images: base: {from: "scratch", env: A: "1"}
images: py: {parent: "base", apt: ["python3"], tags: ["3.11"]}
images: team: {parent: "py", run: ["echo team"]}
images: other: {parent: "base", run: ["echo other"]}
`

type env struct {
	t   *testing.T
	reg string
	dir string
	c   *regclient.Client
	b   *fakeBuilder
	pub *publish.Publisher
}

func newEnv(t *testing.T, reg string) *env {
	e := &env{t: t, reg: reg, dir: t.TempDir(), c: regclient.New(), b: &fakeBuilder{}}
	e.pub = &publish.Publisher{Builder: e.b, Registry: e.c, Marker: lifecycle.NewWriter(), Jobs: 4}
	e.write(lib1)
	return e
}

func (e *env) write(src string) {
	require.NoError(e.t, os.WriteFile(filepath.Join(e.dir, "lib.cue"), []byte(strings.ReplaceAll(src, "REGISTRY", e.reg)), 0o644))
}

func (e *env) plan(date string) (*spec.Library, *plan.Plan) {
	e.t.Helper()
	lib, err := spec.Load(e.dir)
	require.NoError(e.t, err)
	snap, err := plan.Observe(context.Background(), lib, readmodel.Remote{C: e.c}, plan.ObserveOptions{})
	require.NoError(e.t, err)
	p, err := plan.Compute(lib, snap, plan.Options{Date: date})
	require.NoError(e.t, err)
	return lib, p
}

func (e *env) publish(date string) (*plan.Plan, *publish.Result, error) {
	e.t.Helper()
	lib, p := e.plan(date)
	res, err := e.pub.Apply(context.Background(), lib, p, nil)
	return p, res, err
}

func (e *env) tags(image string) []string {
	tags, err := e.c.ListTags(context.Background(), e.reg+"/ds/"+image)
	require.NoError(e.t, err)
	var out []string
	for _, t := range tags {
		if !strings.HasPrefix(t, "sha256-") {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func (e *env) digest(image, tag string) string {
	d, err := e.c.Head(context.Background(), e.reg+"/ds/"+image+":"+tag)
	require.NoError(e.t, err)
	return d.Digest.String()
}

func (e *env) markers(image, digest string) []lifecycle.Marker {
	ms, err := readmodel.Remote{C: e.c}.Markers(context.Background(), e.reg+"/ds/"+image, digest, nil)
	require.NoError(e.t, err)
	return ms
}

// registries are the three registry modes every publish test runs against.
func registries(t *testing.T) map[string]func(*testing.T) string {
	return map[string]func(*testing.T) string{
		"ggcr-referrers":    func(t *testing.T) string { return e2etest.InProcessRegistry(t, true) },
		"ggcr-no-referrers": func(t *testing.T) string { return e2etest.InProcessRegistry(t, false) },
		"distribution-2.8":  func(t *testing.T) string { return e2etest.Registry(t) },
	}
}

func TestThreePublishesInARow(t *testing.T) {
	for mode, start := range registries(t) {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, start(t))
			var versions []string
			for i, date := range []string{"2026-11-01", "2026-11-24", "2026-11-24"} {
				if i > 0 {
					e.write(strings.Replace(lib1, "echo team", fmt.Sprintf("echo team v%d", i+1), 1))
				}
				p, res, err := e.publish(date)
				require.NoError(t, err)
				require.NotEmpty(t, res.Images)
				versions = append(versions, p.Step("team").Version)
			}
			assert.Equal(t, []string{"2026.11.01", "2026.11.24", "2026.11.24.1"}, versions)
			assert.Equal(t, []string{"2026.11.01", "2026.11.01-deprecated", "2026.11.24", "2026.11.24-deprecated", "2026.11.24.1", "latest"}, e.tags("team"))
			latest := e.digest("team", "latest")
			assert.Equal(t, e.digest("team", "2026.11.24.1"), latest)
			for i, v := range versions[:2] {
				d := e.digest("team", v) // every version still resolves
				ms := e.markers("team", d)
				require.Len(t, ms, 1, "version %s marked once", v)
				assert.Equal(t, versions[i+1], ms[0].SupersededByTag)
				assert.Equal(t, e.digest("team", versions[i+1]), ms[0].SupersededByDigest)
				assert.Equal(t, "2026-12-24", ms[0].EndOfLife)
				assert.Equal(t, e.digest("team", v+"-deprecated"), d)
			}
			assert.Empty(t, e.markers("team", latest))
			// Unchanged images were built once and never deprecated.
			assert.Equal(t, []string{"2026.11.01", "latest"}, e.tags("other"))

			// A re-run adds nothing and makes no build call.
			calls := e.b.calls
			p, res, err := e.publish("2026-11-24")
			require.NoError(t, err)
			assert.False(t, p.HasChanges())
			assert.Empty(t, res.Images)
			assert.Equal(t, calls, e.b.calls)
			assert.Len(t, e.markers("team", e.digest("team", "2026.11.01")), 1)
		})
	}
}

func TestChildBuiltFromParentJustPushed(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, true))
	_, _, err := e.publish("2026-11-01")
	require.NoError(t, err)
	e.write(strings.Replace(lib1, `A: "1"`, `A: "2"`, 1))
	_, res, err := e.publish("2026-11-02")
	require.NoError(t, err)
	require.Len(t, res.Images, 4)
	py := e.digest("py", "2026.11.02")
	assert.Equal(t, e.reg+"/ds/py@"+py, e.b.bases["team"])
	assert.Equal(t, e.reg+"/ds/base@"+e.digest("base", "2026.11.02"), e.b.bases["py"])
	assert.Equal(t, "", e.b.bases["base"], "scratch")
}

// TestBaseLayersMountedIntoTheCacheRepository: before a child's build its
// parent's layers are already in the child's build cache repository
// (mounted, on distribution 2.8, which mounts across repositories), so
// BuildKit's cache export, which uploads every layer the cache repository
// lacks, has only the child's own layers to send.
func TestBaseLayersMountedIntoTheCacheRepository(t *testing.T) {
	e := newEnv(t, e2etest.Registry(t))
	e.pub.CacheRepo = e.reg + "/ds/imgctl-cache"
	e.b.cacheHas = func(req build.Request) (have, want int) {
		ctx := context.Background()
		base, err := name.NewDigest(req.Base, name.Insecure)
		require.NoError(t, err)
		img, err := remote.Image(base, remote.WithContext(ctx))
		require.NoError(t, err)
		layers, err := img.Layers()
		require.NoError(t, err)
		cache, err := name.ParseReference(req.CacheRef, name.Insecure)
		require.NoError(t, err)
		for _, l := range layers {
			d, err := l.Digest()
			require.NoError(t, err)
			// remote.Layer's Size is a HEAD of the blob.
			if l, err := remote.Layer(cache.Context().Digest(d.String())); err == nil {
				if _, err := l.Size(); err == nil {
					have++
				}
			}
		}
		return have, len(layers)
	}
	_, _, err := e.publish("2026-11-01")
	require.NoError(t, err)
	for _, im := range []string{"py", "team", "other"} {
		got := e.b.cachedBase[im]
		assert.NotZero(t, got[1], "%s: its base has layers", im)
		assert.Equal(t, got[1], got[0], "%s: every layer of its base is in its cache repository before its build", im)
	}
	assert.NotContains(t, e.b.cachedBase, "base", "FROM scratch: nothing to mount")
}

func TestFailedBuildMovesNoTagAndRerunFinishes(t *testing.T) {
	e := newEnv(t, e2etest.Registry(t))
	_, _, err := e.publish("2026-11-01")
	require.NoError(t, err)
	before := map[string][]string{}
	for _, n := range []string{"base", "py", "team", "other"} {
		before[n] = e.tags(n)
	}
	e.write(strings.Replace(strings.Replace(lib1, "echo team", "echo team 2", 1), `"python3"`, `"python3", "python3-numpy"`, 1))
	e.b.fail = "team"
	_, _, err = e.publish("2026-11-02")
	var be *publish.BuildError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "team", be.Image)
	assert.Contains(t, err.Error(), `building team: step "run: false" failed`)
	for n, tags := range before {
		assert.Equal(t, tags, e.tags(n), "no tag of %s moved", n)
	}
	e.b.fail = ""
	p, _, err := e.publish("2026-11-02")
	require.NoError(t, err)
	assert.Equal(t, "2026.11.02", p.Step("team").Version)
	assert.Equal(t, e.digest("team", "2026.11.02"), e.digest("team", "latest"))
	assert.Equal(t, e.digest("py", "2026.11.02"), e.digest("py", "3.11"))
}

func TestStalePlanIsRefused(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, false))
	_, _, err := e.publish("2026-11-01")
	require.NoError(t, err)
	e.write(strings.Replace(lib1, "echo other", "echo other 2", 1))
	lib, p := e.plan("2026-11-02")
	// Someone moves latest after the plan was made.
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	moved, err := name.ParseReference(e.reg + "/ds/other:latest")
	require.NoError(t, err)
	require.NoError(t, remote.Write(moved, img))
	movedDigest, _ := img.Digest()
	_, err = e.pub.Apply(context.Background(), lib, p, nil)
	require.ErrorIs(t, err, publish.ErrStalePlan)
	assert.Contains(t, err.Error(), "other:latest is "+movedDigest.String())
	assert.Equal(t, []string{"2026.11.01", "latest"}, e.tags("other"), "nothing written")
	assert.Zero(t, e.b.calls-4, "no build ran for the stale plan")

	// The specs changed after the plan was made.
	lib, p = e.plan("2026-11-02")
	e.write(strings.Replace(lib1, "echo other", "echo other 3", 1))
	lib, err = spec.Load(e.dir)
	require.NoError(t, err)
	_, err = e.pub.Apply(context.Background(), lib, p, nil)
	require.ErrorIs(t, err, publish.ErrSpecMismatch)
}

func TestConcurrentPublishesLoseNoMarker(t *testing.T) {
	reg := e2etest.Registry(t)
	a, b := newEnv(t, reg), newEnv(t, reg)
	b.write(strings.ReplaceAll(lib1, "REGISTRY/ds", "REGISTRY/ds2"))
	// Both libraries publish into one registry, then supersede, concurrently.
	for _, date := range []string{"2026-11-01", "2026-11-02"} {
		if date != "2026-11-01" {
			a.write(strings.Replace(lib1, `A: "1"`, `A: "x"`, 1))
			b.write(strings.ReplaceAll(strings.Replace(lib1, `A: "1"`, `A: "y"`, 1), "REGISTRY/ds", "REGISTRY/ds2"))
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, e := range []*env{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); _, _, errs[i] = e.publish(date) }()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
	}
	for _, n := range []string{"base", "py", "team", "other"} {
		d := a.digest(n, "2026.11.01")
		assert.Len(t, a.markers(n, d), 1, "ds/%s", n)
		ms, err := readmodel.Remote{C: b.c}.Markers(context.Background(), reg+"/ds2/"+n, mustHead(t, b.c, reg+"/ds2/"+n+":2026.11.01"), nil)
		require.NoError(t, err)
		assert.Len(t, ms, 1, "ds2/%s", n)
	}
}

func mustHead(t *testing.T, c *regclient.Client, ref string) string {
	d, err := c.Head(context.Background(), ref)
	require.NoError(t, err)
	return d.Digest.String()
}

func TestRetirement(t *testing.T) {
	for mode, start := range registries(t) {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, start(t))
			_, _, err := e.publish("2026-11-01")
			require.NoError(t, err)
			e.write(strings.Replace(lib1, `tags: ["3.11"]}`, `tags: ["3.11"], deprecated: {reason: "Python 3.11 is end of life", replacement: "other"}}`, 1))
			p, res, err := e.publish("2026-11-10")
			require.NoError(t, err)
			assert.Empty(t, res.Images, "nothing is built for a retired image")
			assert.Equal(t, plan.Retire, p.Step("py").Action)
			var warned []string
			for _, w := range p.Warnings {
				warned = append(warned, w.Image+": "+w.Message)
			}
			assert.Equal(t, []string{"team: parent py is retired: Python 3.11 is end of life; move to other"}, warned)

			d := e.digest("py", "2026.11.01")
			assert.Equal(t, d, e.digest("py", "latest"), "latest stays where it is")
			ms := e.markers("py", d)
			require.Len(t, ms, 1)
			assert.Equal(t, "other", ms[0].Replacement)
			assert.Equal(t, "2026-12-10", ms[0].EndOfLife)
			assert.Empty(t, ms[0].SupersededByTag)

			// Marked once: a re-run plans nothing and adds nothing.
			p, _, err = e.publish("2026-11-11")
			require.NoError(t, err)
			assert.False(t, p.HasChanges())
			assert.Len(t, e.markers("py", d), 1)

			lib, err := spec.Load(e.dir)
			require.NoError(t, err)
			r, err := status.Collect(context.Background(), lib, readmodel.Remote{C: e.c}, status.Options{Names: []string{"py"}, Jobs: 2})
			require.NoError(t, err)
			require.Len(t, r.Images, 1)
			py := r.Images[0]
			require.NotNil(t, py.Retired)
			assert.Equal(t, "other", py.Retired.Replacement)
			require.Len(t, py.Versions, 1)
			assert.True(t, py.Versions[0].Latest)
			assert.True(t, py.Versions[0].Deprecated)
			assert.Equal(t, "other", py.Versions[0].Replacement)
			assert.Equal(t, &status.BuiltOn{Image: "base", Version: "2026.11.01", Ref: e.reg + "/ds/base", Digest: e.digest("base", "2026.11.01")}, py.Versions[0].BuiltOn)
		})
	}
}

func TestDeprecatedTagPolicyOff(t *testing.T) {
	for mode, start := range registries(t) {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, start(t))
			noTag := strings.Replace(lib1, `registry: "REGISTRY/ds"`, `registry: "REGISTRY/ds"
policy: {deprecatedTag: false, graceDays: 7}`, 1)
			e.write(noTag)
			_, _, err := e.publish("2026-11-01")
			require.NoError(t, err)
			e.write(strings.Replace(noTag, "echo other", "echo other 2", 1))
			_, _, err = e.publish("2026-11-02")
			require.NoError(t, err)
			assert.Equal(t, []string{"2026.11.01", "2026.11.02", "latest"}, e.tags("other"), "no -deprecated tag")
			ms := e.markers("other", e.digest("other", "2026.11.01"))
			require.Len(t, ms, 1, "the marker is written all the same")
			assert.Equal(t, "2026-11-09", ms[0].EndOfLife)
			// The next plan reads the marker back instead of re-marking.
			p, _, err := e.publish("2026-11-03")
			require.NoError(t, err)
			assert.False(t, p.HasChanges())
		})
	}
}

// TestConcurrentPublishersSameImageSameDay: two publishes of different
// content for the same images on the same day. The dated tag keeps the
// digest written first (as far as a registry without conditional writes
// allows: see verifyDated), a publish that finds another's dated tag stops
// with ErrStalePlan before moving latest, and re-runs publish the next
// version of the day and converge; every superseded version is marked.
func TestConcurrentPublishersSameImageSameDay(t *testing.T) {
	for mode, start := range registries(t) {
		t.Run(mode, func(t *testing.T) {
			reg := start(t)
			a, b := newEnv(t, reg), newEnv(t, reg)
			_, _, err := a.publish("2026-11-01")
			require.NoError(t, err)
			a.write(strings.Replace(lib1, `A: "1"`, `A: "x"`, 1))
			b.write(strings.Replace(lib1, `A: "1"`, `A: "y"`, 1))
			libA, pA := a.plan("2026-11-02")
			libB, pB := b.plan("2026-11-02")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, x := range []struct {
				e   *env
				lib *spec.Library
				p   *plan.Plan
			}{{a, libA, pA}, {b, libB, pB}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = x.e.pub.Apply(context.Background(), x.lib, x.p, nil)
				}()
			}
			wg.Wait()
			// Each image's dated tags race separately: one publish may win
			// base and the other py, and then both stop.
			for _, err := range errs {
				if err != nil {
					require.ErrorIs(t, err, publish.ErrStalePlan)
				}
			}
			first := map[string]string{}
			for _, n := range []string{"base", "py", "team", "other"} {
				first[n] = a.digest(n, "2026.11.02")
			}
			// Both re-run until nothing is left to do.
			for _, e := range []*env{a, b} {
				_, _, err := e.publish("2026-11-02")
				require.NoError(t, err)
			}
			for _, n := range []string{"base", "py", "team", "other"} {
				assert.Equal(t, first[n], a.digest(n, "2026.11.02"), "%s:2026.11.02 never rewritten", n)
				tags := a.tags(n)
				newest := published.VersionTags(tags)[len(published.VersionTags(tags))-1]
				assert.Equal(t, a.digest(n, newest), a.digest(n, "latest"), "%s: latest on the newest version %s", n, newest)
				for _, v := range published.VersionTags(tags) {
					if v != newest {
						// At least once: two publishes that both passed
						// the dated-tag checks in the same instant each
						// mark the version they superseded.
						assert.NotEmpty(t, a.markers(n, a.digest(n, v)), "%s:%s marked", n, v)
					}
				}
			}
			_, p := b.plan("2026-11-02")
			assert.False(t, p.HasChanges())
		})
	}
}

// amd64Only is a builder whose daemon builds linux/amd64 alone.
type amd64Only struct{ *fakeBuilder }

func (amd64Only) Capabilities(context.Context) (build.Capabilities, error) {
	return build.Capabilities{Platforms: []string{"linux/amd64"}, Addr: "unix:///run/buildkit/buildkitd.sock"}, nil
}

// TestDaemonWithoutAPlatformFailsBeforeAnyBuild: one clear error, nothing
// built, nothing tagged.
func TestDaemonWithoutAPlatformFailsBeforeAnyBuild(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, false))
	e.pub.Builder = amd64Only{e.b}
	e.write(strings.Replace(lib1, `images: base: {from: "scratch", env: A: "1"}`,
		`images: base: {from: "scratch", env: A: "1", platforms: ["linux/amd64", "linux/arm64"]}`, 1))
	_, _, err := e.publish("2026-11-01")
	require.ErrorIs(t, err, publish.ErrPlatformUnsupported)
	assert.Equal(t, "platform not supported by the BuildKit daemon: BuildKit at unix:///run/buildkit/buildkitd.sock cannot build linux/arm64 (for base, other, py, team); it builds linux/amd64", err.Error())
	assert.Zero(t, e.b.calls, "no build started")
	assert.Empty(t, e.tags("base"))
}

// TestDatedTagsParentsFirst: when a parent's dated tag cannot be written,
// its children's are not written either, so the re-run builds the parent
// again and publishes the children under the planned version, not .1.
func TestDatedTagsParentsFirst(t *testing.T) {
	proxy, addr := e2etest.FaultProxy(t, e2etest.InProcessRegistry(t, false))
	e := newEnv(t, addr)
	e.c = regclient.New(regclient.WithRetries(0))
	e.pub.Registry = e.c
	_, _, err := e.publish("2026-11-01")
	require.NoError(t, err)
	e.write(strings.Replace(lib1, `A: "1"`, `A: "2"`, 1))
	proxy.SetRules(faultproxy.Rule{Method: "PUT", Path: `/ds/py/manifests/2026\.11\.02$`, Fault: faultproxy.Status503})
	_, _, err = e.publish("2026-11-02")
	require.Error(t, err)
	assert.Contains(t, e.tags("base"), "2026.11.02", "the root's dated tag is written")
	assert.NotContains(t, e.tags("py"), "2026.11.02")
	assert.NotContains(t, e.tags("team"), "2026.11.02", "no child dated before its parent")

	proxy.Clear()
	p, _, err := e.publish("2026-11-02")
	require.NoError(t, err)
	for _, st := range p.Images {
		if st.Action == plan.Build {
			assert.Equal(t, "2026.11.02", st.Version, "%s", st.Name)
		}
	}
	assert.NotContains(t, e.tags("team"), "2026.11.02.1")
}

// recordingSigner checks, when asked to sign, that no tag of the plan
// points at the digest yet, and records what it signed.
type recordingSigner struct {
	t      *testing.T
	c      *regclient.Client
	tags   []string // repo:tag that must not exist yet
	mu     sync.Mutex
	signed []string
	fail   bool
}

func (s *recordingSigner) Sign(ctx context.Context, ref name.Digest) error {
	for _, tag := range s.tags {
		if strings.HasPrefix(tag, ref.Context().Name()+":") {
			// (Another signature failing cancels ctx: only a tag found
			// is wrong.)
			_, err := s.c.Head(ctx, tag)
			assert.Error(s.t, err, "%s written before its version was signed", tag)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signed = append(s.signed, ref.String())
	if s.fail {
		return errors.New("signing backend unavailable")
	}
	return nil
}

type fakeGenerator struct{ calls int }

func (g *fakeGenerator) Generator(context.Context) (string, error) {
	g.calls++
	return "127.0.0.1:1/scan@sha256:" + strings.Repeat("5", 64), nil
}

func TestSigningBeforeAnyTagAndAttestations(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, false))
	gen := &fakeGenerator{}
	e.pub.Attest = publish.Attest{SBOM: gen, Provenance: "min", BuilderID: build.DefaultBuilderID}
	e.pub.Source, e.pub.Revision = "https://git.example.com/specs.git", "abc123"

	// A failing signer: every build done, no tag written.
	lib, p := e.plan("2026-11-24")
	var tags []string
	for _, ts := range p.Tags {
		tags = append(tags, ts.Repository+":"+ts.Tag)
	}
	failing := &recordingSigner{t: t, c: e.c, tags: tags, fail: true}
	e.pub.Signer = failing
	_, err := e.pub.Apply(context.Background(), lib, p, nil)
	require.ErrorContains(t, err, "signing backend unavailable; no tag was moved")
	for _, tag := range tags {
		_, err := e.c.Head(context.Background(), tag)
		assert.ErrorIs(t, err, regclient.ErrNotFound, "%s", tag)
	}
	assert.Equal(t, 1, gen.calls, "the scanner is resolved once per publish")
	for _, n := range []string{"base", "py", "team", "other"} {
		assert.Equal(t, build.Attestations{
			SBOMGenerator: "127.0.0.1:1/scan@sha256:" + strings.Repeat("5", 64),
			Provenance:    "min",
			BuilderID:     build.DefaultBuilderID,
			VCSSource:     "https://git.example.com/specs.git",
			VCSRevision:   "abc123",
		}, e.b.attest[n], n)
	}

	// A working signer: each version signed once, before its tags.
	lib, p = e.plan("2026-11-24")
	s := &recordingSigner{t: t, c: e.c, tags: tags}
	e.pub.Signer = s
	res, err := e.pub.Apply(context.Background(), lib, p, nil)
	require.NoError(t, err)
	assert.Equal(t, 4, res.Signed)
	assert.Len(t, s.signed, 4, "one signature per version, not per tag: %v", s.signed)
	for _, b := range res.Images {
		assert.Contains(t, s.signed, e.reg+"/ds/"+b.Image+"@"+b.Digest)
	}

	// Nothing to build: the scanner is not asked for.
	lib, p = e.plan("2026-11-24")
	require.False(t, p.HasChanges())
	gen.calls = 0
	_, err = e.pub.Apply(context.Background(), lib, p, nil)
	require.NoError(t, err)
	assert.Zero(t, gen.calls)
}

// fakeRefresher says a refresh of the images in same changed nothing.
type fakeRefresher struct {
	mu    sync.Mutex
	same  map[string]bool // repository -> same
	asked []string
}

func (r *fakeRefresher) Same(_ context.Context, repo, newest, refreshed string) (bool, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, repo[strings.LastIndex(repo, "/")+1:])
	if r.same[repo] {
		return true, "", nil
	}
	return false, "python3 upgraded", nil
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, true))
	_, _, err := e.publish("2026-11-01")
	require.NoError(t, err)
	before := map[string][]string{}
	for _, n := range []string{"base", "py", "team", "other"} {
		before[n] = e.tags(n)
	}
	r := &fakeRefresher{same: map[string]bool{e.reg + "/ds/py": true}}
	e.pub.Refresher = r
	e.write(strings.Replace(lib1, `registry: "REGISTRY/ds"`, "registry: \"REGISTRY/ds\"\npolicy: refreshDays: 7", 1))

	// py's packages come out the same: nothing is published, and team,
	// which only follows py, is not even built.
	e.b.calls = 0
	p, res, err := e.publish("2026-11-08")
	require.NoError(t, err)
	assert.True(t, p.Step("py").Refresh)
	assert.True(t, p.Step("team").Conditional)
	assert.Equal(t, []string{"py"}, r.asked)
	assert.Equal(t, 1, e.b.calls, "py rebuilt, team not")
	for n, tags := range before {
		assert.Equal(t, tags, e.tags(n), "%s: no tag written", n)
	}
	assert.Empty(t, e.markers("py", e.digest("py", "2026.11.01")), "nothing superseded")
	assert.Zero(t, res.Tags)
	var out strings.Builder
	res.WriteTable(&out)
	assert.Contains(t, out.String(), "refreshed: nothing changed since 2026.11.01")
	assert.Contains(t, out.String(), "unchanged: parent py refreshed with no change")
	assert.Contains(t, out.String(), "(2 refreshed with nothing changed: no new version), 0 tags written")

	// py's packages changed: a new version, superseding the old one, and
	// team rebuilt on it.
	r.same = nil
	r.asked = nil
	p, _, err = e.publish("2026-11-08")
	require.NoError(t, err)
	assert.Equal(t, "2026.11.08", p.Step("py").Version)
	assert.Contains(t, e.tags("py"), "2026.11.08")
	assert.Contains(t, e.tags("team"), "2026.11.08")
	assert.Equal(t, e.digest("py", "2026.11.08"), e.digest("py", "latest"))
	assert.Equal(t, e.reg+"/ds/py@"+e.digest("py", "2026.11.08"), e.b.bases["team"], "team built on the refreshed py")
	assert.NotEmpty(t, e.markers("py", e.digest("py", "2026.11.01")), "2026.11.01 superseded")

	// Refreshed a day ago: not due.
	_, p2 := e.plan("2026-11-09")
	assert.Zero(t, p2.Summary.Build)
}

// fakeTester fails the tests of one image.
type fakeTester struct {
	mu   sync.Mutex
	fail string
	refs []string
}

func (f *fakeTester) Test(_ context.Context, ref string, platforms, commands []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs = append(f.refs, ref)
	if strings.Contains(ref, "/"+f.fail+"@") {
		return errors.New("1 test failed in " + ref + "\n--- FAIL (linux/amd64): false")
	}
	return nil
}

func TestFailingTestMovesNoTag(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, false))
	tt := &fakeTester{fail: "py"}
	e.pub.Tester = tt
	e.write(strings.Replace(lib1, `tags: ["3.11"]}`, `tags: ["3.11"], test: ["false"]}`, 1))
	_, _, err := e.publish("2026-11-01")
	var be *publish.BuildError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "py", be.Image)
	assert.Contains(t, err.Error(), "testing py 2026.11.01: 1 test failed")
	for _, n := range []string{"base", "py", "team", "other"} {
		tags, err := e.c.ListTags(context.Background(), e.reg+"/ds/"+n)
		if err == nil {
			assert.Empty(t, tags, "%s: no tag", n)
		}
	}
	_, err = e.c.Head(context.Background(), e.reg+"/ds/team:latest")
	assert.Error(t, err, "team, built on the untested py, has no tag")

	tt.fail = ""
	_, res, err := e.publish("2026-11-01")
	require.NoError(t, err)
	var out strings.Builder
	res.WriteTable(&out)
	assert.Contains(t, out.String(), "1 images passed their tests (1 runs) before their tags were written.")

	e.pub.Tester = nil
	e.write(strings.Replace(lib1, `run: ["echo other"]}`, `run: ["echo other 2"], test: ["true"]}`, 1))
	_, _, err = e.publish("2026-11-02")
	assert.ErrorContains(t, err, "the plan has images with tests and the publisher has no tester")
}

// TestMissingSecretFailsBeforeAnyBuild: an image naming a secret that is
// not set stops the publish before anything is built or pushed, naming
// every image that needs it.
func TestMissingSecretFailsBeforeAnyBuild(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, true))
	e.write(lib1 + `
images: private: {parent: "py", pip: {packages: ["x"], index: "https://pypi.example/simple/", credentialsEnv: "PRIVATE_PIP"}}
`)
	e.pub.Getenv = func(string) (string, bool) { return "", false }
	_, _, err := e.publish("2026-11-01")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing was built: secrets the specs name are not set:\n  private: pip.credentialsEnv: environment variable PRIVATE_PIP is not set")
	assert.Zero(t, e.b.calls, "no build started")
	assert.Empty(t, e.tags("base"), "nothing pushed or tagged")

	e.pub.Getenv = func(k string) (string, bool) { return "u:p", k == "PRIVATE_PIP" }
	_, _, err = e.publish("2026-11-01")
	require.NoError(t, err)
	assert.Equal(t, 5, e.b.calls)
}
