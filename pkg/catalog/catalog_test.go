package catalog_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/readmodel"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/catalog"
	"github.com/imgctl/imgctl/pkg/inventory/inventorytest"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/verify"
	"github.com/imgctl/imgctl/pkg/vulndb"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
)

// generated is the fixed clock of the golden files.
var generated = time.Date(2026, 11, 30, 4, 5, 6, 0, time.UTC)

// hostStandIn replaces the in-process registry's random address in golden
// files.
const hostStandIn = "registry.test"

const library = `package lib

registry: "REGISTRY/ds"
images: py: {
	from:        "debian:12"
	family:      "python3"
	description: "Python 3 with numpy & <pandas>"
}
images: team: {
	parent:      "py"
	team:        "marketing"
	family:      "python3"
	description: "Marketing's environment"
}
images: old: {
	parent: "py"
	team:   "marketing"
	deprecated: {reason: "merged into team", replacement: "team"}
}
images: credit: {
	parent: "py@2026.11.01"
	team:   "risk"
}
images: never: {parent: "py"}
sizes: {
	small: {cpu: 1, memory: "4Gi", description: "notebooks"}
	large: {cpu: 8, memory: "32Gi"}
	gpu: {cpu: 8, memory: "48Gi", gpu: {count: 1}}
}
images: team: sizes: ["large", "small"]
// team starts a Jupyter server, credit an RStudio one; py and never none.
images: team: server: "jupyter"
images: credit: server: "rstudio"
`

// state is a fake registry state: an in-process registry holding
// BuildKit-shaped indexes with SBOMs (inventorytest), dated tags, latest,
// and lifecycle markers.
type state struct {
	t    *testing.T
	addr string
	lib  *spec.Library
	dg   map[string]string // "image@version" -> digest
	// vulns, when set, is the feed the catalog matches versions against.
	vulns *catalog.VulnFeed
}

func newState(t *testing.T) *state {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	s := &state{t: t, addr: strings.TrimPrefix(srv.URL, "http://"), dg: map[string]string{}}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.cue"), []byte(strings.ReplaceAll(library, "REGISTRY", s.addr)), 0o644))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	s.lib = lib

	amd := func(layers []string, pkgs ...inventorytest.Package) inventorytest.Platform {
		return inventorytest.Platform{Platform: "linux/amd64", Layers: layers, Config: v1.Config{Env: []string{"PATH=/usr/bin"}, User: "1000"}, Packages: pkgs}
	}
	arm := func(layers []string, pkgs ...inventorytest.Package) inventorytest.Platform {
		p := amd(layers, pkgs...)
		p.Platform = "linux/arm64"
		return p
	}
	py1 := []inventorytest.Package{inventorytest.Deb("python3", "3.11.2-1"), inventorytest.Deb("python3-numpy", "1:1.24.2-1")}
	py2 := []inventorytest.Package{inventorytest.Deb("python3", "3.11.2-1+b1"), inventorytest.Deb("python3-numpy", "1:1.24.2-1"), inventorytest.Deb("python3-pandas", "1.5.3+dfsg-2")}
	s.push("py", "2026.11.01", nil, amd([]string{"base", "py1"}, py1...))
	s.push("py", "2026.11.24", nil, amd([]string{"base", "py2"}, py2...), arm([]string{"base-arm", "py2-arm"}, py2...))
	s.push("team", "2026.11.01", s.base("py", "2026.11.01"), amd([]string{"base", "py1", "team1"}, append(py1, inventorytest.Py("scikit-learn", "1.3.0"))...))
	s.push("team", "2026.11.24", s.base("py", "2026.11.24"), amd([]string{"base", "py2", "team2"}, append(py2, inventorytest.Py("scikit-learn", "1.4.2"), inventorytest.Py("joblib", "1.4.0"))...))
	// No SBOM: an environment published before SBOMs.
	s.push("old", "2026.11.01", s.base("py", "2026.11.01"), amd([]string{"base", "py1", "old"}))
	s.push("credit", "2026.11.02", s.base("py", "2026.11.01"), amd([]string{"base", "py1", "credit"}, append(py1, inventorytest.R("ggplot2", "3.4.4"))...))
	for _, im := range []string{"py", "team"} {
		s.tag(im, "latest", s.dg[im+"@2026.11.24"])
		s.mark(im, "2026.11.01", lifecycle.Marker{EndOfLife: "2026-12-24", Date: "2026-11-24", Reason: "superseded by 2026.11.24", SupersededByTag: "2026.11.24", SupersededByDigest: s.dg[im+"@2026.11.24"]})
		s.tag(im, "2026.11.01-deprecated", s.dg[im+"@2026.11.01"])
	}
	s.tag("old", "latest", s.dg["old@2026.11.01"])
	s.mark("old", "2026.11.01", lifecycle.Marker{EndOfLife: "2026-12-10", Date: "2026-11-10", Reason: "retired: merged into team", Replacement: "team"})
	s.tag("credit", "latest", s.dg["credit@2026.11.02"])
	return s
}

func (s *state) repo(image string) string { return s.addr + "/ds/" + image }

// base names the version a child is built on. The name is spelled with the
// stand-in host: annotations are part of the digests, which the golden
// files hold.
func (s *state) base(image, version string) map[string]string {
	return map[string]string{published.AnnotationBaseName: hostStandIn + "/ds/" + image, published.AnnotationBaseDigest: s.dg[image+"@"+version]}
}

func (s *state) push(image, version string, ann map[string]string, plats ...inventorytest.Platform) {
	// Every version here is imgctl's: it carries a content key.
	ann = maps.Clone(ann)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[published.AnnotationContentKey] = "key-" + image + "-" + version
	s.dg[image+"@"+version] = inventorytest.Push(s.t, s.repo(image)+":"+version, inventorytest.Version{Platforms: plats, Annotations: ann})
}

func (s *state) tag(image, tag, digest string) {
	d, err := name.NewDigest(s.repo(image)+"@"+digest, name.Insecure)
	require.NoError(s.t, err)
	desc, err := remote.Get(d)
	require.NoError(s.t, err)
	require.NoError(s.t, remote.Tag(d.Context().Tag(tag), desc))
}

func (s *state) mark(image, version string, m lifecycle.Marker) {
	d, err := name.NewDigest(s.repo(image)+"@"+s.dg[image+"@"+version], name.Insecure)
	require.NoError(s.t, err)
	desc, err := remote.Head(d)
	require.NoError(s.t, err)
	m.Subject = *desc
	_, err = lifecycle.NewWriter().MarkAll(context.Background(), d.Context(), *desc, m)
	require.NoError(s.t, err)
}

// observe reads the state as imgctl catalog does.
func (s *state) catalog(jobs int) *catalog.Catalog {
	s.t.Helper()
	c := regclient.New()
	obs, err := catalog.Observe(context.Background(), s.lib, readmodel.Remote{C: c}, catalog.RegistryContents{C: c}, catalog.Options{Jobs: jobs, Trust: &verify.Checker{Registry: c}})
	require.NoError(s.t, err)
	obs.Vulns = s.vulns
	return catalog.Compute(s.lib, obs, catalog.Meta{Generated: generated, SpecURL: "https://git.example/org/images/blob/main/lib/{file}#L{line}"})
}

func (s *state) golden(name string, got []byte) {
	s.t.Helper()
	goldentest.Check(s.t, name, bytes.ReplaceAll(got, []byte(s.addr), []byte(hostStandIn)))
}

func TestCatalogGolden(t *testing.T) {
	s := newState(t)
	// team 2026.11.01's scikit-learn has a known vulnerability, fixed in
	// the version 2026.11.24 installs; credit's ggplot2 one of unknown
	// severity, accepted.
	feedDir := t.TempDir()
	vulndbtest.Write(t, feedDir,
		vulndbtest.Record{ID: "GHSA-sk1l-lear-n000", Ecosystem: "PyPI", Package: "scikit-learn", Fixed: "1.4.0", Aliases: []string{"CVE-2026-3000"}, CVSS: vulndbtest.High},
		vulndbtest.Record{ID: "RSEC-2026-7", Ecosystem: "CRAN", Package: "ggplot2", Fixed: "3.5.0"})
	feed, err := vulndb.LoadDir(feedDir)
	require.NoError(t, err)
	s.vulns = &catalog.VulnFeed{Feed: feed, Source: "REGISTRY/ds/imgctl-vulndb:latest", Day: "2026-11-25",
		Ignore: []spec.VulnIgnore{{ID: "RSEC-2026-7", Reason: "plots only", Until: "2026-12-31"}}}
	c := s.catalog(4)
	files, err := catalog.Files(c, catalog.SiteOptions{})
	require.NoError(t, err)
	s.golden("catalog.json", files["catalog.json"])
	s.golden("index.html", files["index.html"])
	s.golden("team.html", files["images/team.html"])
	s.golden("old.html", files["images/old.html"])
	for _, n := range []string{"py", "team", "old", "credit", "never"} {
		assert.Contains(t, files, "images/"+n+".html")
	}
	assert.Contains(t, files, "assets/style.css")
	assert.Contains(t, files, "assets/catalog.js")

	// The same registry read with one job gives the same catalog.
	var a, b bytes.Buffer
	require.NoError(t, c.WriteJSON(&a))
	require.NoError(t, s.catalog(1).WriteJSON(&b))
	assert.Equal(t, a.String(), b.String())

	// What the pages promise, checked on the value as well as in the
	// golden files.
	py := c.Image("py")
	require.NotNil(t, py)
	assert.Equal(t, "2026.11.24", py.Latest)
	assert.Equal(t, []string{"2026.11.24", "2026.11.01"}, []string{py.Versions[0].Version, py.Versions[1].Version})
	assert.Equal(t, catalog.VersionDeprecated, py.Versions[1].State)
	assert.Equal(t, "2026-12-24", py.Versions[1].Deprecation.EndOfLife)
	require.NotNil(t, py.Versions[0].Changes)
	assert.Equal(t, "+1 −0 ↑1 packages", py.Versions[0].Changes.Packages.Counts.String())
	old := c.Image("old")
	assert.Equal(t, catalog.StateRetired, old.State)
	assert.Equal(t, &catalog.Retirement{Reason: "merged into team", Replacement: "team", EndOfLife: "2026-12-10"}, old.Retired)
	assert.False(t, old.Versions[0].HasPackages)
	credit := c.Image("credit")
	assert.Equal(t, "2026.11.01", credit.ParentVersion)
	assert.Equal(t, "2026.11.01", credit.Versions[0].BuiltOn.Version)
	assert.Equal(t, catalog.StateUnpublished, c.Image("never").State)
	assert.Contains(t, string(files["index.html"]), "Python 3 with numpy &amp; &lt;pandas&gt;", "descriptions are escaped")
	assert.NotContains(t, string(files["index.html"]), "<pandas>")
}
