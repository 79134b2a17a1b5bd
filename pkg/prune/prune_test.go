package prune_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/prune"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/retention"
	"github.com/imgctl/imgctl/pkg/spec"
)

// fake is one repository of a registry with the referrers API. With
// distribution set it behaves like distribution 2.8: deleting a manifest
// removes its tags, and tags cannot be deleted by name; otherwise like
// go-containerregistry's registry: tags stay until deleted by name (and
// still serve the manifest).
type fake struct {
	distribution bool
	manifests    map[string]*man
	tags         map[string]string
	// failAfter > 0 fails every delete after that many.
	failAfter, deletes int
	noDelete           bool
	ops                []string
}

type man struct {
	children []published.Child
	subject  string
	eol      string
	ann      map[string]string
}

var errKilled = errors.New("killed")

func (f *fake) CheckDelete(context.Context, string) error {
	if f.noDelete {
		return errors.New("registry r.test: deletes disabled")
	}
	return nil
}

func (f *fake) Delete(_ context.Context, _, digest string) error {
	if f.failAfter > 0 && f.deletes >= f.failAfter {
		return errKilled
	}
	if f.manifests[digest] == nil {
		return published.ErrNotFound
	}
	f.deletes++
	f.ops = append(f.ops, "delete "+digest)
	delete(f.manifests, digest)
	if f.distribution {
		for t, d := range f.tags {
			if d == digest {
				delete(f.tags, t)
			}
		}
	}
	return nil
}

func (f *fake) Untag(_ context.Context, _, tag string) error {
	if f.distribution {
		return regclient.ErrTagDeleteUnsupported
	}
	if f.failAfter > 0 && f.deletes >= f.failAfter {
		return errKilled
	}
	if _, ok := f.tags[tag]; !ok {
		return published.ErrNotFound
	}
	f.deletes++
	f.ops = append(f.ops, "untag "+tag)
	delete(f.tags, tag)
	return nil
}

func (f *fake) Referrers(_ context.Context, _, digest string) ([]string, error) {
	var out []string
	for d, m := range f.manifests {
		if m.subject == digest {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fake) ListTags(context.Context, string) ([]string, error) {
	return slices.Sorted(maps.Keys(f.tags)), nil
}

func (f *fake) Resolve(_ context.Context, ref string) (string, error) {
	d, ok := f.tags[ref[strings.LastIndex(ref, ":")+1:]]
	if !ok {
		return "", published.ErrNotFound
	}
	return d, nil
}

func (f *fake) Manifest(ctx context.Context, ref string) (*published.Manifest, error) {
	d, err := f.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	m := f.manifests[d]
	if m == nil {
		if f.distribution {
			return nil, published.ErrNotFound
		}
		m = &man{ann: map[string]string{published.AnnotationContentKey: "k"}} // a tag keeps its copy
	}
	return &published.Manifest{Digest: d, Annotations: m.ann, Manifests: m.children}, nil
}

func (f *fake) Markers(_ context.Context, _, digest string, _ []string) ([]lifecycle.Marker, error) {
	var out []lifecycle.Marker
	for _, m := range f.manifests {
		if m.subject == digest && m.eol != "" {
			out = append(out, lifecycle.Marker{EndOfLife: m.eol, Date: m.eol, Reason: "superseded"})
		}
	}
	return out, nil
}

func (f *fake) PutArtifact(_ context.Context, _, tag string, raw []byte) error {
	d := dg(string(raw))
	f.manifests[d] = &man{}
	f.tags[tag] = d
	f.ops = append(f.ops, "put "+tag)
	return nil
}

func dg(s string) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(s))) }

// version adds an index with a platform and an attestation manifest,
// markers on the index and the platform manifest (when eol is set), a
// signature tag on the index and a signature referrer on the platform
// manifest.
func (f *fake) version(v, eol string, platform string) string {
	idx, att := dg("index "+v), dg("att "+v)
	if platform == "" {
		platform = dg("platform " + v)
	}
	f.manifests[idx] = &man{ann: map[string]string{published.AnnotationContentKey: "k" + v}, children: []published.Child{
		{Digest: platform, Platform: "linux/amd64"}, {Digest: att, Attestation: true},
	}}
	f.manifests[platform] = &man{}
	f.manifests[att] = &man{}
	f.tags[v] = idx
	if eol != "" {
		f.manifests[dg("marker "+v)] = &man{subject: idx, eol: eol}
		f.manifests[dg("marker platform "+v)] = &man{subject: platform, eol: eol}
		f.tags[v+"-deprecated"] = idx
	}
	sig := dg("sig " + v)
	f.manifests[sig] = &man{}
	f.tags[published.PruneTag(idx)[:len("sha256-")+64]+".sig"] = sig
	f.manifests[dg("platform sig "+v)] = &man{subject: platform}
	return idx
}

func world(distribution bool) *fake {
	f := &fake{distribution: distribution, manifests: map[string]*man{}, tags: map[string]string{}}
	f.version("2026.01.01", "2026-02-01", "")
	f.version("2026.02.01", "2026-03-01", dg("platform shared"))
	f.tags["latest"] = f.version("2026.03.01", "", dg("platform shared"))
	return f
}

const src = `package x

registry: "r.test/ds"
policy: retention: {afterEndOfLifeDays: 0, keepNewest: 1}
images: base: from: "debian:12"
`

func plan(t *testing.T, f *fake) *retention.Plan {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(src), 0o644))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	obs, err := retention.Observe(context.Background(), lib, f, retention.ObserveOptions{Jobs: 1})
	require.NoError(t, err)
	return retention.Compute(retention.Input{Library: lib, Observation: obs, Day: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
}

// state is what a client can see: tags and manifests.
func state(f *fake) (tags []string, manifests []string) {
	return slices.Sorted(maps.Keys(f.tags)), slices.Sorted(maps.Keys(f.manifests))
}

func TestApply(t *testing.T) {
	for _, distribution := range []bool{true, false} {
		f := world(distribution)
		p := plan(t, f)
		require.Equal(t, 2, p.Summary.Delete)
		res, err := prune.Apply(context.Background(), f, p, prune.Options{})
		require.NoError(t, err)
		tags, manifests := state(f)
		latest := dg("index 2026.03.01")
		assert.Equal(t, []string{"2026.03.01", "latest", "sha256-" + latest[7:] + ".sig"}, tags)
		assert.ElementsMatch(t, []string{latest, dg("att 2026.03.01"), dg("platform shared"), dg("sig 2026.03.01"), dg("platform sig 2026.02.01"), dg("platform sig 2026.03.01"), dg("marker platform 2026.02.01")}, manifests,
			"the shared platform manifest and its referrers stay")
		assert.Equal(t, prune.Result{Versions: 2, Manifests: 5, Referrers: 6, Tags: map[bool]int{true: 0, false: 8}[distribution]}, res)
		// The tombstone is written first, the index deleted after its
		// manifests and referrers, the tombstone last.
		first := f.ops[0]
		assert.True(t, strings.HasPrefix(first, "put sha256-"), first)
		assert.False(t, plan(t, f).HasChanges(), "nothing left to do")
	}
}

// Killed after each possible number of deletions, a re-run finishes the
// work, and the registry ends exactly as after an uninterrupted prune.
func TestApplyInterrupted(t *testing.T) {
	for _, distribution := range []bool{true, false} {
		clean := world(distribution)
		_, err := prune.Apply(context.Background(), clean, plan(t, clean), prune.Options{})
		require.NoError(t, err)
		wantTags, wantManifests := state(clean)
		for k := 1; ; k++ {
			f := world(distribution)
			f.failAfter = k
			_, err := prune.Apply(context.Background(), f, plan(t, f), prune.Options{})
			if err == nil {
				break // k is past the last deletion
			}
			require.ErrorIs(t, err, errKilled)
			f.failAfter = 0
			p := plan(t, f)
			require.True(t, p.HasChanges(), "killed after %d deletions (distribution %v): the re-run sees the rest", k, distribution)
			_, err = prune.Apply(context.Background(), f, p, prune.Options{})
			require.NoError(t, err)
			tags, manifests := state(f)
			assert.Equal(t, wantTags, tags, "killed after %d (distribution %v)", k, distribution)
			assert.Equal(t, wantManifests, manifests, "killed after %d (distribution %v)", k, distribution)
			assert.False(t, plan(t, f).HasChanges())
		}
	}
}

func TestApplyChecksFirst(t *testing.T) {
	f := world(true)
	f.noDelete = true
	_, err := prune.Apply(context.Background(), f, plan(t, f), prune.Options{})
	require.Error(t, err)
	assert.Empty(t, f.ops, "nothing written or deleted")

	f = world(true)
	p := plan(t, f)
	f.tags["2026.01.01"] = dg("index 2026.03.01")
	_, err = prune.Apply(context.Background(), f, p, prune.Options{})
	require.ErrorIs(t, err, prune.ErrStalePlan)
	assert.Empty(t, f.ops)
}

func TestTombstoneIsStable(t *testing.T) {
	a, err := prune.Tombstone("r.test/ds/base", "2026.01.01", dg("x"))
	require.NoError(t, err)
	b, _ := prune.Tombstone("r.test/ds/base", "2026.01.01", dg("x"))
	assert.Equal(t, a, b)
	assert.NotContains(t, string(a), `"subject"`, "a tombstone is no referrer")
}
