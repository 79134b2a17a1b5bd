package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/published"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Assets are the site's static files (style.css, catalog.js), under
// "assets/".
func Assets() fs.FS { return assetFS }

// templates are parsed on first use, not when imgctl starts.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"size":     changelog.HumanSize,
		"short":    published.ShortDigest,
		"join":     strings.Join,
		"page":     PageName,
		"coverage": coverage,
		"plats":    platformNames,
		"eco":      ecosystems,
		"pkgname":  pkgName,
		"state":    versionState,
		"add":      func(a, b int) int { return a + b },
		"family":   func(s string) string { return orDefault(s, "No family") },
		"team":     func(s string) string { return orDefault(s, "No team") },
	}).ParseFS(templateFS, "templates/*.html"))
})

// WriteJSON writes the catalog as indented JSON: catalog.json.
func (c *Catalog) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(c)
}

// PageName is the file name of an image's page under images/: the name
// with "/" spelled "--" (image names never contain "--"), plus ".html".
func PageName(image string) string {
	return strings.ReplaceAll(image, "/", "--") + ".html"
}

// Group is a family's or a team's images, for the home page.
type Group struct {
	Name   string
	Images []Card
}

// Card is one image on the home page.
type Card struct {
	*Image
	// Group is the grouping the card is shown in ("family" or "team"),
	// which keeps element ids unique.
	Group  string
	Latest *Version
	// Search is what the search box matches, lowercase: name, team,
	// family and the package names of the latest version.
	Search string
	// Deprecated counts the versions that are deprecated and not the
	// image's retirement; NextEndOfLife is the soonest of their dates.
	Deprecated    int
	NextEndOfLife string
}

// HomePage is the data of index.html.
type HomePage struct {
	*Catalog
	// Title is the page title; Root the relative path to the site root.
	Title, Root string
	ByFamily    []Group
	ByTeam      []Group
	Graph       Layout
}

// ImagePage is the data of images/NAME.html.
type ImagePage struct {
	*Catalog
	// Title is the page title; Root the relative path to the site root.
	Title, Root string
	Image       *Image
	Latest      *Version
	// Versions are the image's versions, with their rendering helpers.
	Versions []*Version
}

// Home prepares the home page data.
func Home(c *Catalog) *HomePage {
	h := &HomePage{Catalog: c, Title: "Image catalog: " + c.Registry, Graph: LayoutGraph(c)}
	h.ByFamily = groups(c, "family", func(im *Image) string { return im.Family })
	h.ByTeam = groups(c, "team", func(im *Image) string { return im.Team })
	return h
}

func groups(c *Catalog, group string, key func(*Image) string) []Group {
	by := map[string][]Card{}
	for i := range c.Images {
		im := &c.Images[i]
		by[key(im)] = append(by[key(im)], card(im, group))
	}
	var names []string
	for k := range by {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		// The group without a name comes last.
		if (names[i] == "") != (names[j] == "") {
			return names[j] == ""
		}
		return names[i] < names[j]
	})
	out := make([]Group, 0, len(names))
	for _, n := range names {
		out = append(out, Group{Name: n, Images: by[n]})
	}
	return out
}

func card(im *Image, group string) Card {
	c := Card{Image: im, Group: group, Latest: im.LatestVersion()}
	words := []string{im.Name, im.Team, im.Family}
	if c.Latest != nil {
		for _, p := range c.Latest.Packages {
			words = append(words, p.Name)
		}
	}
	c.Search = strings.ToLower(strings.Join(words, " "))
	for _, v := range im.Versions {
		if v.State == VersionDeprecated && v.Deprecation != nil {
			c.Deprecated++
			if c.NextEndOfLife == "" || v.Deprecation.EndOfLife < c.NextEndOfLife {
				c.NextEndOfLife = v.Deprecation.EndOfLife
			}
		}
	}
	return c
}

// WriteHome renders index.html.
func (c *Catalog) WriteHome(w io.Writer) error {
	return templates().ExecuteTemplate(w, "index.html", Home(c))
}

// WriteImage renders the page of the image called name.
func (c *Catalog) WriteImage(w io.Writer, name string) error {
	im := c.Image(name)
	if im == nil {
		return fmt.Errorf("no image %q in the catalog", name)
	}
	p := &ImagePage{Catalog: c, Title: im.Name + ": image catalog", Root: "../", Image: im, Latest: im.LatestVersion()}
	for i := range im.Versions {
		p.Versions = append(p.Versions, &im.Versions[i])
	}
	return templates().ExecuteTemplate(w, "image.html", p)
}

// coverage says which of a version's platforms carry an attestation.
func coverage(have []string, v *Version) string {
	all := platformNames(v.Platforms)
	switch {
	case len(have) == 0:
		return "none"
	case len(have) >= len(all):
		return "all platforms"
	}
	return strings.Join(have, ", ")
}

func platformNames(ps []Platform) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Platform
	}
	return out
}

// EcosystemPackages are one ecosystem's packages.
type EcosystemPackages struct {
	Ecosystem string
	Packages  []inventory.Package
}

func ecosystems(ps []inventory.Package) []EcosystemPackages {
	var out []EcosystemPackages
	for _, e := range inventory.Ecosystems {
		var in []inventory.Package
		for _, p := range ps {
			if p.Ecosystem == e {
				in = append(in, p)
			}
		}
		if len(in) > 0 {
			out = append(out, EcosystemPackages{Ecosystem: e, Packages: in})
		}
	}
	return out
}

func pkgName(name, typ string) string {
	if typ == "" {
		return name
	}
	return name + " (" + typ + ")"
}

// versionState is the status column of a version: "latest",
// "deprecated until DATE, superseded by V", "retired → REPLACEMENT until
// DATE", or "current".
func versionState(v *Version) string {
	d := v.Deprecation
	switch v.State {
	case VersionLatest:
		return "latest"
	case VersionRetired:
		s := "retired"
		if d != nil && d.Replacement != "" {
			s += " → " + d.Replacement
		}
		if d != nil && d.EndOfLife != "" {
			s += ", until " + d.EndOfLife
		}
		return s
	case VersionDeprecated:
		s := "deprecated"
		if d.EndOfLife != "" {
			s += " until " + d.EndOfLife
		}
		if d.SupersededBy != "" {
			s += ", superseded by " + d.SupersededBy
		} else if d.Replacement != "" {
			s += " → " + d.Replacement
		}
		return s
	}
	return "current"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
