package plan_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/plan/plantest"
	"github.com/imgctl/imgctl/pkg/spec"
)

const debianV1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
const debianV2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

// library is the test library, one image per file, as text we can mutate.
var library = map[string]string{
	"lib.cue": `package lib

registry: "r.test/ds"
`,
	"base.cue": `package lib

images: base: {
	from: "debian:12"
	env: LANG: "C.UTF-8"
}
`,
	"py.cue": `package lib

// The Python family.
images: py: {
	parent: "base"
	apt: ["python3", "python3-numpy"]
	tags: ["3.11"]
}
`,
	"r.cue": `package lib

images: r: {parent: "base", apt: ["r-base-core"]}
`,
	"team.cue": `package lib

images: team: {
	parent:      "py"
	description: "marketing"
	files: [{src: "data.csv", dest: "/data.csv"}]
}
`,
	"team2.cue": `package lib

images: team2: {parent: "py", run: ["echo hi"]}
`,
	"pinned.cue": `package lib

images: pinned: {parent: "r@2026.11.01", run: ["echo pinned"]}
`,
	"data.csv": "a,b\n1,2\n",
}

type fixture struct {
	t     *testing.T
	dir   string
	files map[string]string
	reg   *plantest.Registry
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, dir: t.TempDir(), files: map[string]string{}, reg: plantest.New()}
	for k, v := range library {
		f.files[k] = v
	}
	f.reg.Put("debian", "12", debianV1, nil)
	return f
}

func (f *fixture) load() *spec.Library {
	f.t.Helper()
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		os.Remove(filepath.Join(f.dir, e.Name()))
	}
	for k, v := range f.files {
		require.NoError(f.t, os.WriteFile(filepath.Join(f.dir, k), []byte(v), 0o644))
	}
	lib, err := spec.Load(f.dir)
	require.NoError(f.t, err)
	return lib
}

func (f *fixture) plan(date string, targets ...string) (*spec.Library, *plan.Plan) {
	f.t.Helper()
	lib := f.load()
	snap, err := plan.Observe(context.Background(), lib, f.reg, plan.ObserveOptions{Targets: targets})
	require.NoError(f.t, err)
	p, err := plan.Compute(lib, snap, plan.Options{Date: date, Targets: targets})
	require.NoError(f.t, err)
	return lib, p
}

func (f *fixture) publish(date string) *plan.Plan {
	f.t.Helper()
	lib, p := f.plan(date)
	plantest.Apply(f.reg, lib, p)
	return p
}

func (f *fixture) edit(file, old, new string) {
	f.t.Helper()
	require.Contains(f.t, f.files[file], old)
	f.files[file] = strings.Replace(f.files[file], old, new, 1)
}

func actions(p *plan.Plan) map[string]plan.Action {
	m := map[string]plan.Action{}
	for _, st := range p.Images {
		m[st.Name] = st.Action
	}
	return m
}

func built(p *plan.Plan) []string {
	var out []string
	for _, st := range p.Images {
		if st.Action == plan.Build {
			out = append(out, st.Name)
		}
	}
	return out
}

// publishedLibrary sets up the library published once on 2026-11-01.
func publishedLibrary(t *testing.T) *fixture {
	f := newFixture(t)
	// The pinned image needs r@2026.11.01: publish everything else first.
	p := f.publish("2026-11-01")
	require.Equal(t, []string{"base", "py", "r", "team", "team2"}, built(p))
	require.Equal(t, plan.Blocked, actions(p)["pinned"])
	p = f.publish("2026-11-01")
	require.Equal(t, []string{"pinned"}, built(p))
	return f
}

func TestChangeDetection(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture)
		build  []string
		reason string // a reason of the first built image
	}{
		{name: "nothing", change: func(f *fixture) {}},
		{name: "comment", change: func(f *fixture) { f.edit("py.cue", "// The Python family.", "// The Python family, reviewed.") }},
		{name: "reorder fields", change: func(f *fixture) {
			f.edit("py.cue", "parent: \"base\"\n\tapt: [\"python3\", \"python3-numpy\"]", "apt: [\"python3\", \"python3-numpy\"]\n\tparent: \"base\"")
		}},
		{name: "reformat and move to another file", change: func(f *fixture) {
			delete(f.files, "r.cue")
			f.files["lib.cue"] += "images: r: {\n\tapt: [\n\t\t\"r-base-core\",\n\t]\n\tparent: \"base\"\n}\n"
		}},
		{name: "leaf apt", change: func(f *fixture) { f.edit("team2.cue", `"echo hi"`, `"echo hello"`) }, build: []string{"team2"}, reason: "field run changed"},
		{name: "family apt rebuilds dependents, not the pinned", change: func(f *fixture) { f.edit("py.cue", `"python3-numpy"`, `"python3-numpy", "python3-pandas"`) },
			build: []string{"py", "team", "team2"}, reason: "field apt changed"},
		{name: "pinned parent moves on, pinned child stays", change: func(f *fixture) { f.edit("r.cue", `"r-base-core"`, `"r-base-core", "r-cran-ggplot2"`) },
			build: []string{"r"}, reason: "field apt changed"},
		{name: "file content", change: func(f *fixture) { f.files["data.csv"] = "a,b\n1,3\n" }, build: []string{"team"}, reason: "file data.csv changed"},
		{name: "description", change: func(f *fixture) { f.edit("team.cue", `"marketing"`, `"marketing analytics"`) }, build: []string{"team"}, reason: "field description changed"},
		{name: "env on the root", change: func(f *fixture) { f.edit("base.cue", `LANG: "C.UTF-8"`, `LANG: "C.UTF-8", env: TZ: "UTC"`) },
			build: []string{"base", "py", "r", "team", "team2"}, reason: "field env changed"},
		{name: "external base moved", change: func(f *fixture) { f.reg.Put("debian", "12", debianV2, nil) },
			build: []string{"base", "py", "r", "team", "team2"}, reason: "external base debian:12 moved from sha256:111111111111 to sha256:222222222222"},
		{name: "moving tag added: tag step, no build", change: func(f *fixture) { f.edit("py.cue", `tags: ["3.11"]`, `tags: ["3.11", "3"]`) }},
		{name: "a test changes nothing", change: func(f *fixture) { f.edit("team2.cue", `run:`, `test: ["true"], run:`) }},
		{name: "owning team changes nothing", change: func(f *fixture) { f.edit("team2.cue", `run:`, `team: "x", family: "python3", run:`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := publishedLibrary(t)
			tt.change(f)
			_, p := f.plan("2026-11-24")
			assert.Equal(t, tt.build, built(p))
			if tt.reason != "" {
				st := p.Step(tt.build[0])
				var msgs []string
				for _, r := range st.Reasons {
					msgs = append(msgs, r.Message)
				}
				assert.Contains(t, msgs, tt.reason)
			}
			for _, n := range tt.build {
				if p.Step(n).Base.RebuiltInPlan {
					assert.Equal(t, "parent "+p.Step(n).Base.Image+" rebuilt in this plan", p.Step(n).Reasons[0].Message)
				}
			}
			assert.Len(t, p.Deprecations, len(tt.build), "each rebuilt image's previous version is deprecated")
			for _, d := range p.Deprecations {
				assert.Equal(t, "2026.11.01", d.Version)
				assert.Equal(t, "2026-12-24", d.EndOfLife)
				assert.Equal(t, "2026.11.01-deprecated", d.Tag)
			}
		})
	}
}

func TestNoChangeMeansNothingToDo(t *testing.T) {
	f := publishedLibrary(t)
	_, p := f.plan("2026-11-24")
	assert.False(t, p.HasChanges())
	assert.Equal(t, plan.Summary{Unchanged: 6}, p.Summary)
	assert.Equal(t, "unchanged: matches 2026.11.01", p.Step("py").Reasons[0].Message)
}

func shortOf(d string) string { return d[:len("sha256:")+12] }

func TestSameDayRebuilds(t *testing.T) {
	f := publishedLibrary(t)
	versions := []string{"2026.11.24", "2026.11.24.1", "2026.11.24.2"}
	for i, want := range versions {
		f.edit("team2.cue", `"echo`, `"echo `+strings.Repeat("x", i+1))
		p := f.publish("2026-11-24")
		require.Equal(t, []string{"team2"}, built(p))
		assert.Equal(t, want, p.Step("team2").Version)
		if i > 0 {
			assert.Equal(t, versions[i-1], p.Deprecations[0].Version)
			assert.Equal(t, want, p.Deprecations[0].SupersededBy)
		}
	}
	_, p := f.plan("2026-11-24")
	assert.False(t, p.HasChanges())
}

func TestTagSteps(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("py.cue", `"python3-numpy"`, `"python3-numpy", "python3-scipy"`)
	_, p := f.plan("2026-11-24")
	var got []string
	for _, ts := range p.Tags {
		if ts.Image == "py" {
			got = append(got, ts.Tag+" "+string(ts.Kind)+" observed="+shortOr(ts.Observed))
		}
	}
	old := shortOf(f.reg.TagDigest("r.test/ds/py", "latest"))
	assert.Equal(t, []string{"2026.11.24 dated observed=-", "latest latest observed=" + old, "3.11 moving observed=" + old}, got)
}

func shortOr(d string) string {
	if d == "" {
		return "-"
	}
	return shortOf(d)
}

func TestPinnedWarnings(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("r.cue", `"r-base-core"`, `"r-base-core", "r-cran-dplyr"`)
	_, p := f.plan("2026-11-24")
	require.Len(t, p.Warnings, 1)
	assert.Contains(t, p.Warnings[0].Message, "pinned to r@2026.11.01, which this plan supersedes with 2026.11.24 (about to be deprecated)")
	f.publish("2026-11-24")
	_, p = f.plan("2026-11-25")
	require.Len(t, p.Warnings, 1)
	assert.Contains(t, p.Warnings[0].Message, "pinned to r@2026.11.01, which is superseded by 2026.11.24 (deprecated)")
	assert.Equal(t, plan.Skip, p.Step("pinned").Action)

	f.edit("pinned.cue", "r@2026.11.01", "r@2026.10.01")
	_, p = f.plan("2026-11-25")
	assert.Equal(t, plan.Blocked, p.Step("pinned").Action)
	assert.Equal(t, "pinned parent r@2026.10.01 is not published", p.Step("pinned").Reasons[0].Message)
}

func TestRetirement(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("py.cue", `tags: ["3.11"]`, `tags: ["3.11"], deprecated: {reason: "use py3", replacement: "r"}`)
	_, p := f.plan("2026-11-24")
	assert.Equal(t, plan.Retire, p.Step("py").Action)
	assert.Empty(t, built(p))
	require.Len(t, p.Deprecations, 1)
	d := p.Deprecations[0]
	assert.Equal(t, plan.Retired, d.Kind)
	assert.Equal(t, "r", d.Replacement)
	assert.Equal(t, "2026-12-24", d.EndOfLife)
	var warned []string
	for _, w := range p.Warnings {
		warned = append(warned, w.Image+": "+w.Message)
	}
	assert.Equal(t, []string{"team: parent py is retired: use py3; move to r", "team2: parent py is retired: use py3; move to r"}, warned)
	f.publish("2026-11-24")
	_, p = f.plan("2026-11-25")
	assert.Empty(t, p.Deprecations, "marked once")
	assert.False(t, p.HasChanges())
}

func TestInterruptedMarkingIsCompleted(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("team2.cue", `"echo hi"`, `"echo bye"`)
	lib, p := f.plan("2026-11-24")
	p.Deprecations = nil // the publish stopped before marking
	plantest.Apply(f.reg, lib, p)
	_, p = f.plan("2026-11-25")
	assert.Empty(t, built(p))
	require.Len(t, p.Deprecations, 1)
	assert.Equal(t, "2026.11.01", p.Deprecations[0].Version)
	assert.Equal(t, "2026.11.24", p.Deprecations[0].SupersededBy)
	assert.Equal(t, "2026-11-24", p.Deprecations[0].Date)
}

func TestTargets(t *testing.T) {
	f := newFixture(t)
	_, p := f.plan("2026-11-01", "team")
	var names []string
	for _, st := range p.Images {
		names = append(names, st.Name)
	}
	assert.Equal(t, []string{"base", "py", "team"}, names)

	lib := f.load()
	_, err := plan.Observe(context.Background(), lib, f.reg, plan.ObserveOptions{Targets: []string{"nope"}})
	assert.ErrorContains(t, err, "--target nope: no such image")
}

func TestDateBeforeNewestIsRefused(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("team2.cue", `"echo hi"`, `"echo bye"`)
	lib := f.load()
	snap, err := plan.Observe(context.Background(), lib, f.reg, plan.ObserveOptions{})
	require.NoError(t, err)
	_, err = plan.Compute(lib, snap, plan.Options{Date: "2026-10-01"})
	assert.ErrorContains(t, err, "before the newest published version of team2 (newest 2026.11.01)")
	_, err = plan.Compute(lib, snap, plan.Options{Date: "24.11.2026"})
	assert.ErrorContains(t, err, "want YYYY-MM-DD")
}

func TestComputeIsDeterministic(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("base.cue", `LANG: "C.UTF-8"`, `LANG: "C"`)
	lib := f.load()
	snap, err := plan.Observe(context.Background(), lib, f.reg, plan.ObserveOptions{})
	require.NoError(t, err)
	a, _ := plan.Compute(lib, snap, plan.Options{Date: "2026-11-24"})
	for i := 0; i < 5; i++ {
		b, _ := plan.Compute(lib, snap, plan.Options{Date: "2026-11-24"})
		assert.Equal(t, a, b)
	}
}

// TestMovingTagReadWhenBuilding: a moving tag left on an older version (the
// spec dropped it, then added it back) is read, not assumed, so publish
// does not stop on a stale plan forever.
func TestMovingTagReadWhenBuilding(t *testing.T) {
	f := publishedLibrary(t)
	old := f.reg.TagDigest("r.test/ds/py", "2026.11.01")
	f.edit("py.cue", `"python3-numpy"`, `"python3-numpy", "python3-scipy"`)
	plantest.Apply(f.reg, f.load(), mustPlan(t, f, "2026-11-24"))
	f.reg.Put("r.test/ds/py", "3.11", old, nil) // left behind on the old version
	f.edit("py.cue", `"python3-scipy"`, `"python3-scipy", "python3-sympy"`)
	before := f.reg.Requests
	p := mustPlan(t, f, "2026-11-25")
	for _, ts := range p.Tags {
		switch {
		case ts.Image == "py" && ts.Tag == "3.11":
			assert.Equal(t, old, ts.Observed)
			assert.Equal(t, "moves from "+shortOf(old), ts.Reason)
		case ts.Image == "py" && ts.Tag == "latest":
			assert.Equal(t, f.reg.TagDigest("r.test/ds/py", "2026.11.24"), ts.Observed)
		}
	}
	// 2 reads per image (the pinned version is the newest, already read),
	// 1 resolve of the external base, one per moving tag (base, r, team,
	// team2, pinned: latest; py: latest, 3.11), and one to name the
	// version py's stray 3.11 is on.
	assert.Equal(t, 2*6+1+7+1, f.reg.Requests-before)
}

// TestInterruptedTaggingIsRepaired: a publish that wrote the dated tags but
// died before latest and the moving tags (and the markers) is finished by
// the next plan, without building anything.
func TestInterruptedTaggingIsRepaired(t *testing.T) {
	f := publishedLibrary(t)
	old := f.reg.TagDigest("r.test/ds/py", "latest")
	f.edit("py.cue", `"python3-numpy"`, `"python3-numpy", "python3-scipy"`)
	lib, p := f.plan("2026-11-24")
	var dated []plan.TagStep
	for _, ts := range p.Tags {
		if ts.Kind == plan.TagDated {
			dated = append(dated, ts)
		}
	}
	p.Tags, p.Deprecations = dated, nil // killed after the dated tags
	plantest.Apply(f.reg, lib, p)
	require.Equal(t, old, f.reg.TagDigest("r.test/ds/py", "latest"))

	_, p = f.plan("2026-11-25")
	assert.Empty(t, built(p), "nothing is built again")
	var got []string
	for _, ts := range p.Tags {
		got = append(got, ts.Image+":"+ts.Tag+" -> "+ts.Version+" ("+ts.Reason+")")
		assert.Equal(t, f.reg.TagDigest(ts.Repository, ts.Version), ts.Digest, "%s:%s targets its newest version", ts.Image, ts.Tag)
		assert.NotEmpty(t, ts.Observed, "%s:%s records what it points at now", ts.Image, ts.Tag)
	}
	assert.Equal(t, []string{
		"py:latest -> 2026.11.24 (latest points at 2026.11.01, newest is 2026.11.24: interrupted publish?)",
		"py:3.11 -> 2026.11.24 (3.11 points at 2026.11.01, newest is 2026.11.24: interrupted publish?)",
		"team:latest -> 2026.11.24 (latest points at 2026.11.01, newest is 2026.11.24: interrupted publish?)",
		"team2:latest -> 2026.11.24 (latest points at 2026.11.01, newest is 2026.11.24: interrupted publish?)",
	}, got)
	assert.Len(t, p.Deprecations, 3, "py, team and team2 2026.11.01 are marked")

	plantest.Apply(f.reg, f.load(), p)
	_, p = f.plan("2026-11-26")
	assert.False(t, p.HasChanges(), "converged: %+v %+v", p.Tags, p.Deprecations)
}

// TestStrayTagOnUnknownDigest names the digest when no recent version has
// it and imgctl wrote it (an older version than the plan names).
func TestStrayTagOnUnknownDigest(t *testing.T) {
	f := publishedLibrary(t)
	f.reg.PutManifest("r.test/ds/r", debianV2, map[string]string{"io.imgctl.content-key": "old"})
	f.reg.Put("r.test/ds/r", "latest", debianV2, nil)
	_, p := f.plan("2026-11-24")
	require.Len(t, p.Tags, 1)
	assert.Equal(t, "latest points at "+shortOf(debianV2)+", newest is 2026.11.01: interrupted publish?", p.Tags[0].Reason)
	assert.Equal(t, debianV2, p.Tags[0].Observed)
}

func mustPlan(t *testing.T, f *fixture, date string) *plan.Plan {
	t.Helper()
	p, _, err := plan.Make(context.Background(), f.load(), f.reg, plan.ObserveOptions{}, plan.Options{Date: date})
	require.NoError(t, err)
	return p
}

// TestExternalBaseLacksAPlatform: plan says which platform an external
// base lacks, before anything is built.
func TestExternalBaseLacksAPlatform(t *testing.T) {
	f := newFixture(t)
	f.edit("base.cue", `from: "debian:12"`, `from: "debian:12"
	platforms: ["linux/amd64", "linux/arm64"]`)
	_, p := f.plan("2026-11-01")
	st := p.Step("base")
	require.Equal(t, plan.Blocked, st.Action)
	assert.Equal(t, "external base debian:12 lacks linux/arm64 (it provides linux/amd64)", st.Reasons[0].Message)
	assert.Equal(t, plan.Blocked, p.Step("py").Action, "children of a blocked image are blocked")

	f.reg.SetPlatforms(debianV1, "linux/amd64", "linux/arm64")
	_, p = f.plan("2026-11-01")
	assert.Equal(t, plan.Build, p.Step("base").Action)
}

func TestRefresh(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("lib.cue", `registry: "r.test/ds"`, "registry: \"r.test/ds\"\npolicy: refreshDays: 30")

	// 29 days: not due.
	_, p := f.plan("2026-11-30")
	assert.Empty(t, built(p))

	// 30 days: what installs packages is refreshed; base (no package
	// steps) is not; team and team2 depend on py's outcome; pinned is on
	// r@2026.11.01, which a refresh of r would supersede.
	lib, p := f.plan("2026-12-01")
	assert.Equal(t, []string{"py", "r", "team", "team2"}, built(p))
	steps := map[string]plan.ImageStep{}
	for _, st := range p.Images {
		steps[st.Name] = st
	}
	assert.Equal(t, plan.Skip, steps["base"].Action, "base installs no packages")
	py := steps["py"]
	assert.True(t, py.Refresh)
	assert.Equal(t, "refresh: newest version 2026.11.01 is 30 days old", py.Reasons[0].Message)
	assert.Equal(t, 4, py.Reasons[0].Pos.Line, "policy.refreshDays position")
	assert.NotEmpty(t, py.ContentKey, "the same content key as 2026.11.01: the spec did not change")
	assert.NotNil(t, lib.Image("py"))
	team := steps["team"]
	assert.True(t, team.Conditional, "team installs nothing: built only if py changes")
	assert.False(t, team.Refresh)
	assert.Contains(t, team.Reasons[0].Message, "parent py is refreshed in this plan: rebuilt only if that publishes a new version")
	assert.Equal(t, 4, p.Summary.Refresh)
	var text strings.Builder
	require.NoError(t, p.WriteText(&text))
	assert.Contains(t, text.String(), "Plan: 4 to build (4 refreshes: published only if packages changed)")

	// A child that changed is built whatever the refresh gives.
	f.edit("team2.cue", `"echo hi"`, `"echo hello"`)
	_, p = f.plan("2026-12-01")
	for _, st := range p.Images {
		if st.Name == "team2" {
			assert.False(t, st.Conditional)
			assert.False(t, st.Refresh)
		}
	}
	f.edit("team2.cue", `"echo hello"`, `"echo hi"`)

	// --refresh refreshes now, whatever the policy says.
	f.edit("lib.cue", "policy: refreshDays: 30", "")
	_, p = f.plan("2026-11-02")
	assert.Empty(t, built(p), "policy off")
	snapLib := f.load()
	snap, err := plan.Observe(context.Background(), snapLib, f.reg, plan.ObserveOptions{})
	require.NoError(t, err)
	p, err = plan.Compute(snapLib, snap, plan.Options{Date: "2026-11-02", Refresh: true})
	require.NoError(t, err)
	assert.Contains(t, built(p), "py")
	for _, st := range p.Images {
		if st.Name == "py" {
			assert.Equal(t, "refresh (--refresh): newest version 2026.11.01 is 1 day old", st.Reasons[0].Message)
		}
	}
}
