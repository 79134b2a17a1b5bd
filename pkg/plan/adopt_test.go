package plan_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/plan/plantest"
)

// Digests of images imgctl did not write.
const (
	handLatest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	handV1     = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	handDated  = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	helmChart  = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	goneDated  = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
)

// foreignRepo fills repo with what a team had before imgctl: a hand-pushed
// latest and v1, a tag shaped like today's version, a Helm chart, a
// cosign-style signature tag and a dated tag whose manifest was deleted.
func foreignRepo(reg *plantest.Registry, repo string) {
	reg.Put(repo, "latest", handLatest, map[string]string{})
	reg.Put(repo, "v1", handV1, map[string]string{})
	reg.Put(repo, "2026.12.07", handDated, map[string]string{"org.opencontainers.image.title": "by hand"})
	reg.Put(repo, "0.1.0", helmChart, map[string]string{})
	reg.Put(repo, "sha256-"+handLatest[7:]+".sig", helmChart, nil)
	reg.Put(repo, "2026.12.01", goneDated, map[string]string{})
	reg.DeleteManifest(goneDated)
}

// TestAdoptForeignRepository is a first plan of a library whose repositories
// already hold images imgctl did not write: it plans (no panic), builds,
// moves only latest, never deprecates a foreign version and says what it
// found.
func TestAdoptForeignRepository(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"base", "py", "r"} {
		foreignRepo(f.reg, "r.test/ds/"+n)
	}
	_, p := f.plan("2026-12-07")
	assert.ElementsMatch(t, []string{"base", "py", "r", "team", "team2"}, built(p))
	base := p.Step("base")
	require.NotNil(t, base)
	assert.Equal(t, "2026.12.07.1", base.Version, "today's tag exists: the next one")
	assert.Nil(t, base.Previous, "no version imgctl wrote")
	var msgs []string
	for _, r := range base.Reasons {
		msgs = append(msgs, r.Message)
	}
	assert.Contains(t, msgs, "2026.12.07 is not an imgctl version: it points at an image imgctl did not publish (sha256:cccccccccccc); left as it is")
	assert.Contains(t, msgs, "2026.12.01 is not an imgctl version: it points at a manifest that is missing; left as it is")
	assert.Empty(t, p.Deprecations, "a foreign image is never marked")
	var tags []string
	for _, ts := range p.Tags {
		if ts.Image == "base" {
			tags = append(tags, ts.Tag+": "+ts.Reason)
		}
	}
	assert.Equal(t, []string{
		"2026.12.07.1: new version",
		"latest: latest points at an image imgctl did not publish (sha256:aaaaaaaaaaaa); publish moves it to 2026.12.07.1",
	}, tags)
	for _, ts := range p.Tags {
		if ts.Image != "team" && ts.Image != "team2" {
			assert.NotContains(t, []string{"v1", "0.1.0", "2026.12.07", "2026.12.01"}, ts.Tag, "%s: a foreign tag is left alone", ts.Image)
		}
		assert.NotEmpty(t, ts.Reason)
	}
	js, err := json.Marshal(base)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"foreign":[{"tag":"2026.12.07","digest":"`+handDated+`","note":"an image imgctl did not publish"}`)
	assert.Contains(t, string(js), `{"tag":"latest","digest":"`+handLatest+`","note":"an image imgctl did not publish"}`)

	// Published: the next plan is empty; the foreign tags are as they were.
	plantest.Apply(f.reg, f.load(), p)
	_, p = f.plan("2026-12-08")
	assert.False(t, p.HasChanges(), "converged: %+v %+v", p.Tags, p.Deprecations)
	assert.Equal(t, handV1, f.reg.TagDigest("r.test/ds/base", "v1"))
	assert.Equal(t, handDated, f.reg.TagDigest("r.test/ds/base", "2026.12.07"))

	// A second version supersedes imgctl's first, never the foreign ones.
	f.edit("base.cue", `env: LANG: "C.UTF-8"`, `env: {LANG: "C.UTF-8", TZ: "UTC"}`)
	_, p = f.plan("2026-12-08")
	var deprecated []string
	for _, d := range p.Deprecations {
		deprecated = append(deprecated, d.Image+"@"+d.Version)
	}
	assert.Contains(t, deprecated, "base@2026.12.07.1")
	for _, d := range p.Deprecations {
		assert.NotContains(t, []string{handLatest, handV1, handDated, goneDated}, d.Digest)
	}
}

// TestHandPushedLatestOnly: a repository with nothing but a hand-pushed
// latest (the planner panicked on it).
func TestHandPushedLatestOnly(t *testing.T) {
	f := newFixture(t)
	f.reg.Put("r.test/ds/base", "latest", handLatest, map[string]string{})
	_, p := f.plan("2026-12-07")
	require.Equal(t, plan.Build, actions(p)["base"])
	for _, ts := range p.Tags {
		if ts.Image == "base" && ts.Tag == "latest" {
			assert.Equal(t, "latest points at an image imgctl did not publish (sha256:aaaaaaaaaaaa); publish moves it to 2026.12.07", ts.Reason)
			assert.Equal(t, handLatest, ts.Observed)
		}
	}
}

// TestForeignLatestOnUnchangedImage: latest re-pushed by hand after imgctl
// published; the plan moves it back and says why.
func TestForeignLatestOnUnchangedImage(t *testing.T) {
	f := publishedLibrary(t)
	f.reg.Put("r.test/ds/r", "latest", handLatest, map[string]string{})
	_, p := f.plan("2026-11-24")
	require.Len(t, p.Tags, 1)
	assert.Equal(t, "latest points at an image imgctl did not publish (sha256:aaaaaaaaaaaa); publish moves it to 2026.11.01", p.Tags[0].Reason)
	assert.Empty(t, p.Deprecations)
}

// TestPinnedForeignVersion: a child pinned to a version imgctl did not
// write is blocked, saying so.
func TestPinnedForeignVersion(t *testing.T) {
	f := newFixture(t)
	f.reg.Put("r.test/ds/r", "2026.11.01", handDated, map[string]string{})
	_, p := f.plan("2026-11-01")
	require.Equal(t, plan.Blocked, actions(p)["pinned"])
	assert.Contains(t, p.Step("pinned").Reasons[0].Message, "pinned parent r@2026.11.01 is not an imgctl version (an image imgctl did not publish")
}
