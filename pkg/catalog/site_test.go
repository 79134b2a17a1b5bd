package catalog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/catalog"
)

func tiny() *catalog.Catalog {
	return &catalog.Catalog{FormatVersion: catalog.FormatVersion, Generated: "2026-11-30T04:05:06Z", Registry: "r.test/ds", Images: []catalog.Image{
		{Name: "base", Repository: "r.test/ds/base", State: catalog.StateCurrent, Children: []string{"team/env"}, Versions: []catalog.Version{}},
		{Name: "team/env", Repository: "r.test/ds/team/env", Parent: "base", Depth: 1, State: catalog.StateRetired, Retired: &catalog.Retirement{Reason: "gone", Replacement: "base"}, Versions: []catalog.Version{}},
	}}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestWriteSite(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "site")
	c := tiny()

	// A new directory: every page, the assets, the manifest.
	require.NoError(t, catalog.WriteSite(out, c, catalog.SiteOptions{}))
	for _, f := range []string{"index.html", "catalog.json", "images/base.html", "images/team--env.html", "assets/style.css", "assets/catalog.js"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	assert.Equal(t, ".imgctl-catalog\nassets/catalog.js\nassets/style.css\ncatalog.json\nimages/base.html\nimages/team--env.html\nindex.html\n", read(t, filepath.Join(out, catalog.ManifestFile)))
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	assert.Contains(t, read(t, filepath.Join(out, "index.html")), `href="images/team--env.html"`, "image names with / get one flat page")

	// A previous catalog is replaced whole: a page of an image that is no
	// longer in the library goes.
	c.Images = c.Images[:1]
	c.Images[0].Children = nil
	require.NoError(t, catalog.WriteSite(out, c, catalog.SiteOptions{JSONOnly: true}))
	assert.NoFileExists(t, filepath.Join(out, "index.html"))
	assert.NoFileExists(t, filepath.Join(out, "images/team--env.html"))
	assert.FileExists(t, filepath.Join(out, "catalog.json"))
	require.NoError(t, catalog.WriteSite(out, c, catalog.SiteOptions{}))
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary directory is left beside the site")

	// A file the catalog did not write: refused, nothing deleted or
	// changed.
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644))
	before := read(t, filepath.Join(out, "catalog.json"))
	c.Registry = "other.test/ds"
	err = catalog.WriteSite(out, c, catalog.SiteOptions{})
	require.ErrorIs(t, err, catalog.ErrNotCatalog)
	assert.Contains(t, err.Error(), "notes.txt")
	assert.Equal(t, "mine", read(t, filepath.Join(out, "notes.txt")))
	assert.Equal(t, before, read(t, filepath.Join(out, "catalog.json")))
	entries, err = os.ReadDir(parent)
	require.NoError(t, err)
	assert.Len(t, entries, 1)

	// Any directory with files and no manifest, or a file: refused.
	other := filepath.Join(parent, "docs")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, "catalog.json"), []byte("{}"), 0o644))
	require.ErrorIs(t, catalog.WriteSite(other, c, catalog.SiteOptions{}), catalog.ErrNotCatalog)
	assert.Equal(t, "{}", read(t, filepath.Join(other, "catalog.json")))
	file := filepath.Join(parent, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	require.ErrorIs(t, catalog.WriteSite(file, c, catalog.SiteOptions{}), catalog.ErrNotCatalog)

	// An empty directory is fine.
	empty := filepath.Join(parent, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	require.NoError(t, catalog.WriteSite(empty, c, catalog.SiteOptions{}))
	assert.FileExists(t, filepath.Join(empty, "index.html"))
}

func TestLayoutGraph(t *testing.T) {
	c := &catalog.Catalog{Images: []catalog.Image{
		{Name: "a", Latest: "2026.11.02", State: catalog.StateCurrent},
		{Name: "z", Latest: "2026.11.01", State: catalog.StateCurrent},
		{Name: "a1", Parent: "a", Depth: 1, State: catalog.StateRetired, Retired: &catalog.Retirement{Replacement: "a2"}},
		{Name: "a2", Parent: "a", ParentVersion: "2026.11.01", Depth: 1, State: catalog.StateUnpublished},
		{Name: "b", Parent: "z", Depth: 1, State: catalog.StateCurrent, Versions: []catalog.Version{{Version: "2026.11.03"}}},
		{Name: "c", Parent: "a1", Depth: 2, State: catalog.StateCurrent},
	}}
	l := catalog.LayoutGraph(c)
	var got []string
	for _, n := range l.Nodes {
		got = append(got, n.Name+"|"+n.Label+"|"+boolText(n.Marked)+"|"+n.Pinned)
	}
	// Rows by depth; a row ordered by its parents' order, then by name.
	assert.Equal(t, []string{
		"a|2026.11.02|false|", "z|2026.11.01|false|",
		"a1|retired → a2|true|", "a2|not published|false|2026.11.01", "b|2026.11.03|false|",
		"c|not published|false|",
	}, got)
	assert.Less(t, l.Nodes[0].X, l.Nodes[1].X)
	assert.Equal(t, l.Nodes[2].Y, l.Nodes[4].Y)
	assert.Greater(t, l.Nodes[5].Y, l.Nodes[2].Y)
	var edges []string
	for _, e := range l.Edges {
		edges = append(edges, e.From+">"+e.To+"@"+e.Pinned)
		assert.True(t, strings.HasPrefix(e.Path, "M"))
	}
	assert.Equal(t, []string{"a>a1@", "a>a2@2026.11.01", "a1>c@", "z>b@"}, edges)
	assert.Equal(t, l, catalog.LayoutGraph(c), "deterministic")
	for _, n := range l.Nodes {
		assert.LessOrEqual(t, n.X+176, l.Width)
		assert.LessOrEqual(t, n.Y+52, l.Height)
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
