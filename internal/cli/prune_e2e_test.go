package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/signing"
)

// pruneLib is judged on 2026-12-01: 30 days after end of life, the 2
// newest kept; team pins base@2026.03.01, nb's latest is built on
// base@2026.05.01.
const pruneLib = `package lib

registry: "REGISTRY/e2e"
policy: retention: {afterEndOfLifeDays: 30, keepNewest: 2}
images: base: {from: "scratch", rootfs: "r.tar", tags: ["stable"]}
images: team: parent: "base@2026.03.01"
images: nb: parent: "base"
`

// pruneWorld is a registry seeded with versions written the way imgctl
// writes them: an OCI index per version (a linux/amd64 image and a
// BuildKit-style attestation manifest) with imgctl's annotations on the
// index and the image, lifecycle markers on both (lifecycle.Writer:
// referrers API or fallback index), the VERSION-deprecated tag, and a
// cosign signature (sha256-<hex>.sig).
type pruneWorld struct {
	t      *testing.T
	reg    string
	c      *regclient.Client
	dir    string
	signer *signing.Signer
	// objects are every manifest digest seeded, by repository; deleted
	// are those prune must delete.
	objects, deleted map[string]map[string]bool
	tagsBefore       map[string][]string
	deletedTags      map[string][]string
	inUse            []string // --in-use files
}

type seedOpts struct {
	eol      string // end of life: deprecated when set
	platform v1.Image
	base     string // base digest (annotation)
	deleted  bool   // prune must delete it
}

func newPruneWorld(t *testing.T, reg string) *pruneWorld {
	t.Helper()
	w := &pruneWorld{t: t, reg: reg, c: regclient.New(), dir: t.TempDir(),
		objects: map[string]map[string]bool{}, deleted: map[string]map[string]bool{}, tagsBefore: map[string][]string{}, deletedTags: map[string][]string{}}
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "lib.cue"), []byte(strings.ReplaceAll(pruneLib, "REGISTRY", reg)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "r.tar"), nil, 0o644))
	key, _ := keyPair(t, t.TempDir(), "cosign", "pw")
	s, err := signing.LoadSigner(key, []byte("pw"))
	require.NoError(t, err)
	w.signer = s
	return w
}

func (w *pruneWorld) repo(image string) string { return w.reg + "/e2e/" + image }

func (w *pruneWorld) add(repo, digest string, deleted bool) {
	if w.objects[repo] == nil {
		w.objects[repo], w.deleted[repo] = map[string]bool{}, map[string]bool{}
	}
	w.objects[repo][digest] = true
	if deleted {
		w.deleted[repo][digest] = true
	}
}

func platformImage(t *testing.T, key string) v1.Image {
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Annotations(img, map[string]string{published.AnnotationContentKey: key}).(v1.Image)
}

// seed publishes image:version and returns its index digest.
func (w *pruneWorld) seed(image, version string, o seedOpts) string {
	t, ctx := w.t, context.Background()
	repo := w.repo(image)
	r, err := name.NewRepository(repo, name.Insecure)
	require.NoError(t, err)
	opts, err := w.c.WriteOptions(ctx, r)
	require.NoError(t, err)
	plat := o.platform
	if plat == nil {
		plat = platformImage(t, "key-"+image+version)
	}
	pd, err := plat.Digest()
	require.NoError(t, err)
	att, err := random.Image(32, 1)
	require.NoError(t, err)
	att = mutate.MediaType(att, types.OCIManifestSchema1)
	ann := map[string]string{published.AnnotationContentKey: "key-" + image + version}
	if o.base != "" {
		ann[published.AnnotationBaseName], ann[published.AnnotationBaseDigest] = w.repo("base")+"@"+o.base, o.base
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: plat, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": pd.String()}}},
	)
	idx = mutate.Annotations(idx, ann).(v1.ImageIndex)
	require.NoError(t, remote.WriteIndex(r.Tag(version), idx, opts...))
	d, err := idx.Digest()
	require.NoError(t, err)
	ad, err := att.Digest()
	require.NoError(t, err)
	w.add(repo, d.String(), o.deleted)
	w.add(repo, ad.String(), o.deleted)
	w.add(repo, pd.String(), o.deleted && o.platform == nil) // a shared platform manifest stays
	if o.eol != "" {
		desc, err := remote.Head(r.Digest(d.String()), opts...)
		require.NoError(t, err)
		_, err = lifecycle.NewWriter(opts...).MarkAll(ctx, r, *desc, lifecycle.Marker{EndOfLife: o.eol, Date: o.eol, Reason: "superseded by a newer version", SupersededByTag: "2026.11.01"})
		require.NoError(t, err)
		require.NoError(t, w.c.Tag(ctx, repo, version+"-deprecated", d.String()))
		if o.deleted {
			w.deletedTags[repo] = append(w.deletedTags[repo], version+"-deprecated")
		}
	}
	require.NoError(t, w.signer.Sign(ctx, r.Digest(d.String()), opts...))
	if o.deleted {
		w.deletedTags[repo] = append(w.deletedTags[repo], version, "sha256-"+d.Hex+".sig")
	}
	return d.String()
}

// seedAll publishes the library's history and writes the --in-use files.
func (w *pruneWorld) seedAll() {
	t := w.t
	shared := platformImage(t, "shared")
	latest := w.seed("base", "2026.11.01", seedOpts{platform: shared})
	w.seed("base", "2026.10.01", seedOpts{eol: "2026-11-01"})                // one of the 2 newest
	w.seed("base", "2026.09.01", seedOpts{eol: "2026-11-10"})                // in grace until 2026-12-10
	stable := w.seed("base", "2026.08.01", seedOpts{eol: "2026-09-01"})      // moving tag stable
	pod := w.seed("base", "2026.07.01", seedOpts{eol: "2026-08-01"})         // in use by a pod
	launched := w.seed("base", "2026.06.01", seedOpts{eol: "2026-07-01"})    // in use by a launcher file
	nbBase := w.seed("base", "2026.05.01", seedOpts{eol: "2026-06-01"})      // nb's latest is built on it
	w.seed("base", "2026.04.01", seedOpts{eol: "2026-05-01", deleted: true}) // deleted
	w.seed("base", "2026.03.01", seedOpts{eol: "2026-04-01"})                // pinned by team
	w.seed("base", "2026.02.01", seedOpts{eol: "2026-03-01", deleted: true})
	w.seed("base", "2026.01.01", seedOpts{eol: "2026-02-01", deleted: true, platform: shared}) // its platform manifest is latest's too
	ctx := context.Background()
	require.NoError(t, w.c.Tag(ctx, w.repo("base"), "latest", latest))
	require.NoError(t, w.c.Tag(ctx, w.repo("base"), "stable", stable))
	nb := w.seed("nb", "2026.11.01", seedOpts{base: nbBase})
	require.NoError(t, w.c.Tag(ctx, w.repo("nb"), "latest", nb))
	w.seed("nb", "2026.10.01", seedOpts{eol: "2026-11-01"}) // one of the 2 newest
	w.seed("nb", "2026.01.01", seedOpts{eol: "2026-02-01", deleted: true})

	// The pod runs 2026.07.01's linux/amd64 image (what the kubelet
	// reports as imageID), the launcher offers 2026.06.01.
	m, err := w.c.Get(ctx, w.repo("base")+"@"+pod)
	require.NoError(t, err)
	pods := fmt.Sprintf(`{"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"namespace": "team", "name": "jupyter-ada"},
		"spec": {"containers": [{"name": "notebook", "image": "%s:2026.07.01"}]},
		"status": {"containerStatuses": [{"name": "notebook", "image": "%s:2026.07.01", "imageID": "%s@%s"}]}}]}`,
		w.repo("base"), w.repo("base"), w.repo("base"), m.Children[0].Digest)
	launcher := fmt.Sprintf("singleuser:\n  profileList:\n    - display_name: base\n      kubespawner_override:\n        image: %s@%s\n", w.repo("base"), launched)
	w.inUse = []string{filepath.Join(w.dir, "pods.json"), filepath.Join(w.dir, "jupyterhub.yaml")}
	require.NoError(t, os.WriteFile(w.inUse[0], []byte(pods), 0o644))
	require.NoError(t, os.WriteFile(w.inUse[1], []byte(launcher), 0o644))

	// Every referrer seeded (markers, fallback indexes, signatures)
	// belongs to the objects too.
	for _, repo := range []string{w.repo("base"), w.repo("nb")} {
		for d := range w.objects[repo] {
			refs, err := w.c.Referrers(ctx, repo, d)
			require.NoError(t, err)
			for _, r := range refs {
				w.add(repo, r, w.deleted[repo][d])
			}
		}
		tags, err := w.c.ListTags(ctx, repo)
		require.NoError(t, err)
		slices.Sort(tags)
		w.tagsBefore[repo] = tags
		for _, tag := range tags {
			if sub, _, ok := published.ArtifactSubject(tag); ok {
				td, err := w.c.Head(ctx, repo+":"+tag)
				require.NoError(t, err)
				w.add(repo, td.Digest.String(), w.deleted[repo][sub])
				if w.deleted[repo][sub] && !slices.Contains(w.deletedTags[repo], tag) {
					w.deletedTags[repo] = append(w.deletedTags[repo], tag) // a fallback index
				}
			}
		}
	}
}

func (w *pruneWorld) args(extra ...string) []string {
	args := []string{"prune", w.dir, "--date", "2026-12-01"}
	for _, f := range w.inUse {
		args = append(args, "--in-use", f)
	}
	return append(args, extra...)
}

// present lists, per repository, the tags and which seeded manifests
// are still there.
func (w *pruneWorld) present() (tags map[string][]string, manifests map[string][]string) {
	ctx := context.Background()
	tags, manifests = map[string][]string{}, map[string][]string{}
	for repo, objs := range w.objects {
		ts, err := w.c.ListTags(ctx, repo)
		require.NoError(w.t, err)
		slices.Sort(ts)
		tags[repo] = ts
		for d := range objs {
			_, err := w.c.Head(ctx, repo+"@"+d)
			if err == nil {
				manifests[repo] = append(manifests[repo], d)
				continue
			}
			require.ErrorIs(w.t, err, published.ErrNotFound)
		}
		slices.Sort(manifests[repo])
	}
	return tags, manifests
}

// checkPruned: exactly the chosen versions and their referrers are gone.
func (w *pruneWorld) checkPruned() {
	t := w.t
	tags, manifests := w.present()
	for repo, objs := range w.objects {
		var want []string
		for d := range objs {
			if !w.deleted[repo][d] {
				want = append(want, d)
			}
		}
		slices.Sort(want)
		assert.Equal(t, want, manifests[repo], "manifests left in %s", repo)
		var wantTags []string
		for _, tag := range w.tagsBefore[repo] {
			if !slices.Contains(w.deletedTags[repo], tag) {
				wantTags = append(wantTags, tag)
			}
		}
		assert.Equal(t, wantTags, tags[repo], "tags left in %s", repo)
	}
}

func testPrune(t *testing.T, reg string) {
	w := newPruneWorld(t, reg)
	w.seedAll()
	beforeTags, beforeManifests := w.present()

	// Without --apply: a plan, and nothing deleted.
	code, stdout, stderr := e2eRun(w.args("--detailed-exitcode")...)
	require.Equal(t, ExitChanges, code, "%s\n%s", stdout, stderr)
	for _, want := range []string{
		"keep    2026.11.01", "latest points at it",
		"keep    2026.10.01", "one of the 2 newest",
		"end of life 2026-11-10 + 30 days: deletable from 2026-12-10",
		"moving tag stable points at it",
		"in use (" + w.inUse[0] + ": pod team/jupyter-ada)",
		"in use (" + w.inUse[1] + ":5)",
		"nb@2026.11.01 is built on it",
		"delete  2026.04.01", "end of life 2026-05-01 + 30 days passed on 2026-05-31",
		"pinned by images.team.parent (",
		"delete  2026.02.01", "delete  2026.01.01", "keeps 1 shared with a kept version",
		"Prune: 4 versions to delete",
	} {
		assert.Contains(t, stdout, want)
	}
	tags, manifests := w.present()
	assert.Equal(t, beforeTags, tags, "a plan deletes nothing")
	assert.Equal(t, beforeManifests, manifests, "a plan deletes nothing")

	// status says what the next prune deletes.
	code, stdout, stderr = e2eRun("status", w.dir)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `2026\.04\.01 .*next prune deletes it \(unless in use\): end of life 2026-05-01 \+ 30 days passed`, stdout)

	code, stdout, stderr = e2eRun(w.args("--apply")...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "Deleted 4 versions:")
	w.checkPruned()

	code, stdout, stderr = e2eRun(w.args("--detailed-exitcode")...)
	assert.Equal(t, 0, code, "nothing left to delete:\n%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "Prune: 0 versions to delete")
}

func e2eRun(args ...string) (int, string, string) {
	return (&e2e{}).run(args...)
}

// TestPruneDistribution prunes Debian's distribution 2.8 with deletes
// enabled (no referrers API: fallback indexes; tags go with manifests).
func TestPruneDistribution(t *testing.T) {
	t.Parallel()
	reg, _ := e2etest.RegistryWith(t, e2etest.RegistryOptions{Delete: true})
	testPrune(t, reg)
}

// TestPruneReferrersRegistry prunes go-containerregistry's registry with
// the referrers API (tags are deleted by name).
func TestPruneReferrersRegistry(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	testPrune(t, e2etest.InProcessRegistry(t, true))
}

// TestPruneDeleteDisabled: a registry that does not delete is an error
// before anything is deleted or written.
func TestPruneDeleteDisabled(t *testing.T) {
	t.Parallel()
	w := newPruneWorld(t, e2etest.Registry(t))
	w.seedAll()
	beforeTags, beforeManifests := w.present()
	code, stdout, stderr := e2eRun(w.args("--apply")...)
	assert.Equal(t, ExitError, code, stdout)
	assert.Contains(t, stderr, "does not allow deleting manifests (distribution: set storage.delete.enabled: true); nothing was deleted")
	tags, manifests := w.present()
	assert.Equal(t, beforeTags, tags)
	assert.Equal(t, beforeManifests, manifests)
}

// TestPruneKilled kills imgctl prune --apply (SIGKILL) in the middle of
// its deletions, then runs it again: it completes, and nothing else is
// deleted.
func TestPruneKilled(t *testing.T) {
	t.Parallel()
	reg, _ := e2etest.RegistryWith(t, e2etest.RegistryOptions{Delete: true})
	w := newPruneWorld(t, reg)
	w.seedAll()

	// A proxy that lets 5 deletions through and holds the sixth.
	target, err := url.Parse("http://" + reg)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	var deletes atomic.Int64
	held := make(chan struct{}, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && !strings.HasSuffix(r.URL.Path, "/manifests/sha256:"+strings.Repeat("0", 64)) {
			if deletes.Add(1) > 5 {
				select {
				case held <- struct{}{}:
				default:
				}
				<-r.Context().Done()
				return
			}
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(proxy.Close)
	paddr := strings.TrimPrefix(proxy.URL, "http://")

	cmd := exec.Command(os.Args[0], w.args("--apply", "--jobs", "1", "--retries", "0", "--registry", paddr+"/e2e")...)
	cmd.Env = append(os.Environ(), asImgctlEnv+"=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	select {
	case <-held:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("prune never reached its sixth deletion:\n%s", out.String())
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	// Half done: some of it is gone, the rest is still planned.
	_, manifests := w.present()
	gone := 0
	for repo, objs := range w.objects {
		gone += len(objs) - len(manifests[repo])
	}
	assert.Positive(t, gone, "manifests deleted before the kill\n%s", out.String())
	code, stdout, stderr := e2eRun(w.args("--detailed-exitcode")...)
	require.Equal(t, ExitChanges, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "an interrupted prune started deleting it: finishing")

	code, stdout, stderr = e2eRun(w.args("--apply")...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	w.checkPruned()
	code, stdout, _ = e2eRun(w.args("--detailed-exitcode")...)
	assert.Equal(t, 0, code, stdout)
}
