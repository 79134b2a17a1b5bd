package seed_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/bench/internal/genlib"
	"github.com/imgctl/imgctl/bench/internal/planbench"
	"github.com/imgctl/imgctl/bench/internal/seed"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// TestSeededLibraryIsUnchanged seeds an in-process registry and checks that
// a plan over it builds, tags and deprecates nothing, and what it reads.
func TestSeededLibraryIsUnchanged(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := filepath.Join(t.TempDir(), "lib")
	const n = 80
	ctx := context.Background()
	upstream, err := seed.Upstream(ctx, regclient.New(), host+"/upstream/debian")
	require.NoError(t, err)
	require.NoError(t, genlib.Write(dir, genlib.Options{
		Images: n, Registry: host + "/bench", Seed: 3, ImportSchema: true, PinEvery: 10, PinVersion: "2026.11.01",
		RootFrom: upstream,
	}))
	lib, err := spec.Load(dir)
	require.NoError(t, err)

	res, err := seed.Seed(ctx, lib, regclient.New(), seed.Options{Version: "2026.11.01", Previous: "2026.10.01", Jobs: 4})
	require.NoError(t, err)
	assert.Equal(t, n, res.Images)
	assert.Equal(t, 2*n, res.Manifests)

	r, err := planbench.Plan(ctx, dir, planbench.Options{Date: "2026-11-24", Jobs: 4})
	require.NoError(t, err)
	assert.Equal(t, 0, r.Summary.Build)
	assert.Equal(t, n, r.Summary.Unchanged)
	assert.Equal(t, 0, r.Summary.Tags)
	assert.Equal(t, 0, r.Summary.Deprecate)
	assert.EqualValues(t, n, r.ListTags)
	assert.EqualValues(t, n, r.Manifest, "the newest of each image; pinned versions that are the newest are not read again")
	moving := 0
	for _, im := range lib.Images {
		moving += len(plan.MovingTags(im))
	}
	assert.EqualValues(t, moving, r.Moving, "one HEAD per moving tag, to repair what an interrupted publish left")
	assert.Equal(t, moving, r.MovingTags, "every moving tag was seeded")
	assert.Zero(t, r.Resolve, "no other HEAD: superseded versions carry their -deprecated tag, the root's base is a digest")
	assert.Zero(t, r.Marked, "superseded versions carry their -deprecated tag: no reads")
	assert.EqualValues(t, 1, r.Bases, "the external base's manifest and platforms, once")
	assert.Equal(t, r.Budget(), r.Reads(), "2 per image plus one per moving tag")
	assert.GreaterOrEqual(t, r.Requests, r.Reads())
	unchanged := r

	// Not vacuous: a changed team spec is rebuilt, a changed family with
	// every team on it.
	team, family := "", ""
	for _, im := range lib.Images {
		if im.Team != "" && im.ParentVersion == "" && team == "" {
			team, family = im.Name, im.Parent
		}
	}
	children := 0
	for _, c := range lib.Graph().Children(family) {
		if lib.Image(c).ParentVersion == "" {
			children++
		}
	}
	edit(t, filepath.Join(dir, team+".cue"))
	r, err = planbench.Plan(ctx, dir, planbench.Options{Date: "2026-11-24", Jobs: 4})
	require.NoError(t, err)
	assert.Equal(t, 1, r.Summary.Build)
	edit(t, filepath.Join(dir, family+".cue"))
	r, err = planbench.Plan(ctx, dir, planbench.Options{Date: "2026-11-24", Jobs: 4})
	require.NoError(t, err)
	assert.Equal(t, 1+children, r.Summary.Build, "family %s and its unpinned children", family)

	var repos []planbench.Repo
	for _, name := range lib.Names() {
		src, err := os.ReadFile(filepath.Join(dir, name+".cue"))
		require.NoError(t, err)
		tags, err := genlib.MovingTags(src)
		require.NoError(t, err)
		repos = append(repos, planbench.Repo{Name: lib.Registry + "/" + name, Moving: tags})
	}
	p, err := planbench.ListGet(ctx, repos, 4)
	require.NoError(t, err)
	assert.Equal(t, n, p.Repos)
	assert.EqualValues(t, moving, p.Heads, "the peer reads the moving tags too")
	assert.Equal(t, unchanged.Requests-2, p.Requests, "the peer sends the requests plan sends, but for the external base's manifest and config")
}

func TestSeedRejectsUnseededPin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib")
	require.NoError(t, genlib.Write(dir, genlib.Options{
		Images: 20, Registry: "127.0.0.1:1/bench", Seed: 1, PinEvery: 2, PinVersion: "2026.09.01",
	}))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	_, err = seed.Seed(context.Background(), lib, regclient.New(), seed.Options{Version: "2026.11.01"})
	assert.ErrorContains(t, err, "is not seeded")
}

// edit changes the description of the one image in file.
func edit(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	changed := strings.Replace(string(b), `description: "`, `description: "changed: `, 1)
	require.NotEqual(t, string(b), changed)
	require.NoError(t, os.WriteFile(file, []byte(changed), 0o644))
}
