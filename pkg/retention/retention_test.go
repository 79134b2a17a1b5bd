package retention_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/retention"
	"github.com/imgctl/imgctl/pkg/spec"
)

// fake is a registry of tags, manifests and end-of-life markers.
type fake struct {
	tags      map[string]map[string]string // repo -> tag -> digest
	manifests map[string]*published.Manifest
	eol       map[string]string // digest -> end of life
}

func (f *fake) ListTags(_ context.Context, repo string) ([]string, error) {
	var out []string
	for t := range f.tags[repo] {
		out = append(out, t)
	}
	return out, nil
}

func (f *fake) Resolve(_ context.Context, ref string) (string, error) {
	i := strings.LastIndex(ref, ":")
	d, ok := f.tags[ref[:i]][ref[i+1:]]
	if !ok || f.manifests[d] == nil {
		return "", published.ErrNotFound
	}
	return d, nil
}

func (f *fake) Manifest(ctx context.Context, ref string) (*published.Manifest, error) {
	d, err := f.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	m := *f.manifests[d]
	m.Digest = d
	return &m, nil
}

func (f *fake) Markers(_ context.Context, _, digest string, _ []string) ([]lifecycle.Marker, error) {
	if e := f.eol[digest]; e != "" {
		return []lifecycle.Marker{{EndOfLife: e, Date: e, Reason: "superseded"}}, nil
	}
	return nil, nil
}

func dg(name string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(name)))
}

// version publishes one imgctl version: an index with a platform and an
// attestation manifest (child digests derived from platform, so versions
// can share one), its tag, its end of life and its base.
func (f *fake) version(repo, v, platformChild, eol, base string) string {
	d := dg(repo + v)
	ann := map[string]string{published.AnnotationContentKey: "k" + v}
	if base != "" {
		ann[published.AnnotationBaseName], ann[published.AnnotationBaseDigest] = "r.test/ds/base", base
	}
	if platformChild == "" {
		platformChild = "p" + repo + v
	}
	f.manifests[d] = &published.Manifest{Annotations: ann, Platforms: []string{"linux/amd64"}, Manifests: []published.Child{
		{Digest: dg(platformChild), Platform: "linux/amd64"},
		{Digest: dg("a" + repo + v), Attestation: true},
	}}
	f.tag(repo, v, d)
	if eol != "" {
		f.eol[d] = eol
		f.tag(repo, v+"-deprecated", d)
	}
	return d
}

func (f *fake) tag(repo, tag, d string) {
	if f.tags[repo] == nil {
		f.tags[repo] = map[string]string{}
	}
	f.tags[repo][tag] = d
}

const lib = `package x

registry: "r.test/ds"
policy: retention: {
	afterEndOfLifeDays: 90
	keepNewest:         2
}
images: base: {from: "debian:12", tags: ["stable"]}
images: team: parent: "base@2026.01.01"
images: nb: parent: "base"
`

func load(t *testing.T, src string) (*spec.Library, string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(src), 0o644))
	l, err := spec.Load(dir)
	require.NoError(t, err)
	return l, dir
}

const base = "r.test/ds/base"

// world is the registry every case judges: base has a version for each
// rule, nb a latest built on base@2025.12.01 and an expired version.
func world() *fake {
	f := &fake{tags: map[string]map[string]string{}, manifests: map[string]*published.Manifest{}, eol: map[string]string{}}
	latest := f.version(base, "2026.06.01", "shared", "", "")
	f.tag(base, "latest", latest)
	f.version(base, "2026.05.01", "", "2026-01-01", "")                        // newest 2
	f.tag(base, "stable", f.version(base, "2026.04.01", "", "2026-01-01", "")) // moving
	f.version(base, "2026.03.01", "", "2026-01-01", "")                        // in use by its platform manifest (pod imageID)
	f.tag(base, "v1", f.version(base, "2026.02.01", "", "2026-01-01", ""))     // foreign tag
	f.version(base, "2026.01.01", "", "2026-01-01", "")                        // pinned by team
	b := f.version(base, "2025.12.01", "", "2026-01-01", "")                   // base of nb's latest
	f.version(base, "2025.11.01", "shared", "2026-04-02", "")                  // EOL + 90 = 2026-07-01: deleted, shares its platform manifest with latest
	f.version(base, "2025.10.01", "", "2026-04-03", "")                        // EOL + 90 = 2026-07-02: in grace
	f.version(base, "2025.09.01", "", "", "")                                  // not deprecated
	tomb := f.version(base, "2025.08.01", "", "", "")                          // an interrupted prune
	f.tag(base, published.PruneTag(tomb), dg("tombstone"))
	f.manifests[dg("tombstone")] = &published.Manifest{}
	f.version(base, "2025.07.01", "", "2025-01-01", "") // in use by a launcher (index digest)
	f.version(base, "2025.06.01", "", "2025-01-01", "") // in use by tag (plain line)
	gone := dg("deleted index")
	f.tag(base, published.PruneTag(gone), dg("tombstone2"))
	f.manifests[dg("tombstone2")] = &published.Manifest{}
	// A foreign image under a dated tag is never a candidate.
	f.tag(base, "2024.01.01", dg("foreign"))
	f.manifests[dg("foreign")] = &published.Manifest{}

	nb := f.version("r.test/ds/nb", "2026.06.01", "", "", b)
	f.tag("r.test/ds/nb", "latest", nb)
	f.version("r.test/ds/nb", "2026.05.01", "", "2026-01-01", "")
	f.version("r.test/ds/nb", "2026.04.01", "", "2026-01-01", "")
	return f
}

var day = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func inUse(t *testing.T) ([]retention.Ref, []retention.InUseFile) {
	t.Helper()
	var refs []retention.Ref
	var files []retention.InUseFile
	for _, c := range [][2]string{
		{"pods.json", `{"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"namespace": "team", "name": "nb-0"},
			"spec": {"containers": [{"image": "r.test/ds/base:latest"}]},
			"status": {"containerStatuses": [{"image": "r.test/ds/base:latest", "imageID": "docker-pullable://r.test/ds/base@` + dg("p"+base+"2026.03.01") + `"}]}}]}`},
		{"launchers.json", `{"format_version": "1", "images": [{"name": "base", "versions": [{"image": "r.test/ds/base@` + dg(base+"2025.07.01") + `"}]}]}`},
		{"in-use.txt", "# what the batch cluster runs\nr.test/ds/base:2025.06.01\n"},
	} {
		r, f, err := retention.ParseInUse(c[0], []byte(c[1]))
		require.NoError(t, err, c[0])
		refs, files = append(refs, r...), append(files, f)
	}
	return refs, files
}

func compute(t *testing.T, src string, f *fake, refs []retention.Ref, files []retention.InUseFile, at time.Time) *retention.Plan {
	t.Helper()
	l, dir := load(t, src)
	obs, err := retention.Observe(context.Background(), l, f, retention.ObserveOptions{Jobs: 4})
	require.NoError(t, err)
	return retention.Compute(retention.Input{Library: l, Observation: obs, InUse: refs, InUseFiles: files, Day: at, Dir: dir})
}

func decisions(p *retention.Plan, image string) map[string]string {
	out := map[string]string{}
	for _, im := range p.Images {
		if im.Name != image {
			continue
		}
		for _, v := range im.Versions {
			var kinds []string
			for _, r := range v.Reasons {
				kinds = append(kinds, string(r.Kind))
			}
			out[v.Version] = string(v.Action) + " " + strings.Join(kinds, ",")
		}
	}
	return out
}

func TestCompute(t *testing.T) {
	refs, files := inUse(t)
	p := compute(t, lib, world(), refs, files, day)
	assert.Equal(t, map[string]string{
		"2026.06.01": "keep latest,newest,not-deprecated",
		"2026.05.01": "keep newest",
		"2026.04.01": "keep moving-tag",
		"2026.03.01": "keep in-use",
		"2026.02.01": "keep foreign-tag",
		"2026.01.01": "keep pinned",
		"2025.12.01": "keep base",
		"2025.11.01": "delete expired",
		"2025.10.01": "keep in-grace",
		"2025.09.01": "keep not-deprecated",
		"2025.08.01": "delete interrupted",
		"2025.07.01": "keep in-use",
		"2025.06.01": "keep in-use",
	}, decisions(p, "base"))
	assert.Equal(t, map[string]string{
		"2026.06.01": "keep latest,newest,not-deprecated",
		"2026.05.01": "keep newest",
		"2026.04.01": "delete expired",
	}, decisions(p, "nb"))

	// The deleted version's platform manifest is latest's too: it stays.
	var del *retention.Deletion
	for _, v := range p.Images[0].Versions {
		if v.Version == "2025.11.01" {
			del = v.Delete
		}
	}
	require.NotNil(t, del)
	assert.Equal(t, []string{"2025.11.01-deprecated", "2025.11.01"}, del.Tags)
	assert.Equal(t, []retention.Manifest{
		{Digest: dg("a" + base + "2025.11.01"), Kind: retention.AttestationManifest},
		{Digest: dg(base + "2025.11.01"), Kind: retention.IndexManifest},
	}, del.Manifests)
	assert.Equal(t, []retention.Manifest{{Digest: dg("shared"), Kind: retention.PlatformManifest, Platform: "linux/amd64"}}, del.Shared)
	assert.Equal(t, []retention.Unfinished{{Digest: dg("deleted index"), Tombstone: published.PruneTag(dg("deleted index"))}}, p.Images[0].Unfinished)
	assert.Equal(t, retention.Summary{Delete: 3, Keep: 13, Manifests: 8, Unfinished: 1}, p.Summary)
	assert.True(t, p.HasChanges())

	var text, js bytes.Buffer
	require.NoError(t, p.WriteText(&text))
	require.NoError(t, p.WriteJSON(&js))
	goldentest.Check(t, "plan.txt", text.Bytes())
	goldentest.Check(t, "plan.json", js.Bytes())
}

// The end-of-life boundary: deletable on the day EOL + afterEndOfLifeDays,
// not the day before.
func TestEndOfLifeBoundary(t *testing.T) {
	f := world()
	assert.Equal(t, "keep in-grace", decisions(compute(t, lib, f, nil, nil, day.AddDate(0, 0, -1)), "base")["2025.11.01"])
	assert.Equal(t, "delete expired", decisions(compute(t, lib, f, nil, nil, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)), "base")["2025.11.01"])
	assert.Equal(t, "keep in-grace", decisions(compute(t, lib, f, nil, nil, day), "base")["2025.10.01"])
	assert.Equal(t, "delete expired", decisions(compute(t, lib, f, nil, nil, day.AddDate(0, 0, 1)), "base")["2025.10.01"])
}

// Without in-use files, what they protected is deleted once expired; the
// base of a kept version is kept through a chain of bases.
func TestWithoutInUse(t *testing.T) {
	d := decisions(compute(t, lib, world(), nil, nil, day), "base")
	assert.Equal(t, "delete expired", d["2026.03.01"])
	assert.Equal(t, "delete expired", d["2025.07.01"])
	assert.Equal(t, "delete expired", d["2025.06.01"])
}

// latest counts among the keepNewest: with keepNewest 1 only latest is
// kept as newest.
func TestLatestAmongNewest(t *testing.T) {
	d := decisions(compute(t, strings.Replace(lib, "keepNewest:         2", "keepNewest: 1", 1), world(), nil, nil, day), "base")
	assert.Equal(t, "keep latest,newest,not-deprecated", d["2026.06.01"])
	assert.Equal(t, "delete expired", d["2026.05.01"])
}

// A version kept because another kept version was built on it keeps its
// own base too.
func TestBaseChain(t *testing.T) {
	f := world()
	parent := f.version("r.test/ds/nb", "2025.01.01", "", "2025-01-01", "")
	f.manifests[dg(base+"2025.12.01")].Annotations[published.AnnotationBaseDigest] = parent
	f.manifests[dg(base+"2025.12.01")].Annotations[published.AnnotationBaseName] = "r.test/ds/nb"
	d := decisions(compute(t, lib, f, nil, nil, day), "nb")
	assert.Equal(t, "keep base", d["2025.01.01"])
}

func TestNoPolicy(t *testing.T) {
	p := compute(t, strings.Replace(lib, "policy: retention: {\n\tafterEndOfLifeDays: 90\n\tkeepNewest:         2\n}\n", "", 1), world(), nil, nil, day)
	assert.Nil(t, p.Policy)
	assert.False(t, p.HasChanges())
	for _, v := range p.Images[0].Versions {
		assert.Equal(t, retention.Keep, v.Action, v.Version)
		assert.Equal(t, retention.NoPolicy, v.Reasons[0].Kind)
	}
	assert.Empty(t, p.Images[0].Unfinished, "no policy, no deletion of any kind")
}

func TestParseInUse(t *testing.T) {
	d := dg("x")
	for _, c := range []struct {
		name, data, format string
		want               []retention.Ref
	}{
		{"pods.json", `{"kind": "List", "items": [{"metadata": {"namespace": "a", "name": "p"}, "spec": {"containers": [{"image": "r.test/x:1"}], "initContainers": [{"image": "r.test/y@` + d + `"}]}, "status": {"containerStatuses": [{"imageID": "docker-pullable://r.test/x@` + d + `"}, {"imageID": ""}]}}]}`, retention.FormatPods,
			[]retention.Ref{{Repository: "r.test/x", Tag: "1", Source: "pods.json: pod a/p"}, {Repository: "r.test/y", Digest: d, Source: "pods.json: pod a/p"}, {Repository: "r.test/x", Digest: d, Source: "pods.json: pod a/p"}}},
		{"pod.json", `{"kind": "Pod", "metadata": {"namespace": "a", "name": "q"}, "spec": {"containers": [{"image": "r.test/x@` + d + `"}]}}`, retention.FormatPods,
			[]retention.Ref{{Repository: "r.test/x", Digest: d, Source: "pod.json: pod a/q"}}},
		{"launchers.json", `{"format_version": "1", "images": [{"versions": [{"image": "r.test/x@` + d + `"}]}]}`, retention.FormatLauncher,
			[]retention.Ref{{Repository: "r.test/x", Digest: d, Source: "launchers.json:1"}}},
		{"values.yaml", "# zero-to-jupyterhub values\nsingleuser:\n  profileList:\n    - kubespawner_override:\n        image: r.test/x@" + d + "\n", retention.FormatLauncher,
			[]retention.Ref{{Repository: "r.test/x", Digest: d, Source: "values.yaml:5"}}},
		{"list.txt", d + "\n\n# comment\nr.test/x:2026.01.01  # the batch jobs\n", retention.FormatLines,
			[]retention.Ref{{Digest: d, Source: "list.txt:1"}, {Repository: "r.test/x", Tag: "2026.01.01", Source: "list.txt:4"}}},
		{"empty.txt", "", retention.FormatLines, nil},
	} {
		refs, info, err := retention.ParseInUse(c.name, []byte(c.data))
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, refs, c.name)
		assert.Equal(t, retention.InUseFile{File: c.name, Format: c.format, References: len(c.want)}, info, c.name)
	}
	for name, c := range map[string]struct{ data, err string }{
		"bad.txt":    {"r.test/x:1\nthis is not an image\n", `reading --in-use bad.txt:2: "this is not an image" is neither a digest (sha256:…) nor an image reference`},
		"bad.json":   {"{\n\"kind\": \"List\",\n\"items\": [\n}", "reading --in-use bad.json:4: not valid JSON"},
		"other.json": {`{"some": "thing"}`, "reading --in-use other.json: JSON that is neither a Kubernetes pod list"},
		"upper.txt":  {"UPPER/Case:x\n", `reading --in-use upper.txt:1:`},
	} {
		_, _, err := retention.ParseInUse(name, []byte(c.data))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.err, name)
	}
}
