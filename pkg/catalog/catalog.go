package catalog

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
	"github.com/imgctl/imgctl/pkg/vulndb"
	"github.com/imgctl/imgctl/pkg/vulns"
)

// FormatVersion versions catalog.json (docs/catalog.md).
const FormatVersion = "1"

// Image states (Image.State).
const (
	// StateCurrent: published, not retired.
	StateCurrent = "current"
	// StateRetired: the spec retires the image (deprecated: {…}).
	StateRetired = "retired"
	// StateUnpublished: no dated version in the registry yet.
	StateUnpublished = "unpublished"
)

// Version states (Version.State).
const (
	// VersionLatest: the version the latest tag points at.
	VersionLatest = "latest"
	// VersionCurrent: neither latest nor deprecated (e.g. a newer
	// version exists but this one was never marked).
	VersionCurrent = "current"
	// VersionDeprecated: superseded by a newer version, pullable until
	// its end of life.
	VersionDeprecated = "deprecated"
	// VersionRetired: deprecated because the image is retired.
	VersionRetired = "retired"
)

// Catalog is everything the site and catalog.json show.
type Catalog struct {
	FormatVersion string `json:"format_version"`
	// Generated is when the catalog was made (RFC 3339, UTC, seconds).
	Generated string `json:"generated"`
	// Registry is the registry prefix the catalog was read from.
	Registry string `json:"registry"`
	// Images are every image of the library, sorted by name.
	Images []Image `json:"images"`
	// Vulnerabilities describes the feed the versions were matched
	// against; nil without one.
	Vulnerabilities *vulns.Feed `json:"vulnerabilities,omitempty"`
}

// Size is a size preset an image offers.
type Size struct {
	Name        string    `json:"name"`
	CPU         float64   `json:"cpu"`
	Memory      string    `json:"memory"`
	GPU         *spec.GPU `json:"gpu,omitempty"`
	Description string    `json:"description,omitempty"`
	Default     bool      `json:"default"`
}

// Image is one image of the library with its published versions.
type Image struct {
	Name        string `json:"name"`
	Repository  string `json:"repository"`
	Description string `json:"description,omitempty"`
	Team        string `json:"team,omitempty"`
	Family      string `json:"family,omitempty"`
	// Parent is the in-library parent image ("" for a root); ParentVersion
	// the version it is pinned to, if any; From the external base of a
	// root.
	Parent        string `json:"parent,omitempty"`
	ParentVersion string `json:"parent_version,omitempty"`
	From          string `json:"from,omitempty"`
	// Children are the in-library images built on this one, sorted.
	Children []string `json:"children,omitempty"`
	// Depth is the image's depth in the dependency graph (roots are 0).
	Depth int `json:"depth"`
	// Spec is where the image is declared, relative to the spec directory.
	Spec *SpecPos `json:"spec,omitempty"`
	// State is StateCurrent, StateRetired or StateUnpublished.
	State string `json:"state"`
	// Retired is the spec's retirement, when declared; EndOfLife is read
	// from the marker on the image's newest version.
	Retired *Retirement `json:"retired,omitempty"`
	// Latest is the version the latest tag points at ("" when none).
	Latest string `json:"latest,omitempty"`
	// Sizes are the size presets a session of the image may use, the
	// default first; Launcher names its entry in the launchers (imgctl
	// launcher): the JupyterHub profile slug, when it is offered; Server
	// is the session server it starts (jupyter, vscode, rstudio).
	Sizes    []Size `json:"sizes,omitempty"`
	Launcher string `json:"launcher,omitempty"`
	Server   string `json:"server,omitempty"`
	// Versions are the dated versions, newest first.
	Versions []Version `json:"versions"`
}

// SpecPos is a position in a spec file.
type SpecPos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	// URL shows the position in the spec repository's web view, when
	// Meta.SpecURL says how.
	URL string `json:"url,omitempty"`
}

// Meta is what Compute stamps on a catalog besides what was observed.
type Meta struct {
	// Generated is when the catalog is made.
	Generated time.Time
	// SpecURL, when set, makes each image's spec position a link: a URL
	// template in which {file} is the spec file relative to the spec
	// directory, {line} and {column} the position, e.g.
	// "https://git.example/org/images/blob/main/images/{file}#L{line}".
	SpecURL string
}

// SpecURL makes the link of a spec position from a template (see
// Meta.SpecURL).
func SpecURL(template string, p SpecPos) string {
	return strings.NewReplacer("{file}", p.File, "{line}", strconv.Itoa(p.Line), "{column}", strconv.Itoa(p.Column)).Replace(template)
}

// Retirement is a retired image's reason, replacement and end of life.
type Retirement struct {
	Reason      string `json:"reason"`
	Replacement string `json:"replacement,omitempty"`
	EndOfLife   string `json:"end_of_life,omitempty"`
}

// Version is one published dated version.
type Version struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	Date    string `json:"date"`
	// State is VersionLatest, VersionCurrent, VersionDeprecated or
	// VersionRetired.
	State string `json:"state"`
	// Deprecation is the lifecycle marker's content, when deprecated.
	Deprecation *Deprecation `json:"deprecation,omitempty"`
	// Platforms are the version's platforms with their compressed sizes.
	Platforms []Platform `json:"platforms"`
	// BuiltOn is the parent version this one was built FROM.
	BuiltOn *status.BuiltOn `json:"built_on,omitempty"`
	// Signature is "valid", "invalid" (checked with a key), "signed" (not
	// checked), "unsigned", or "" when not read.
	Signature string `json:"signature,omitempty"`
	// SBOM and Provenance are the platforms that carry one.
	SBOM       []string `json:"sbom,omitempty"`
	Provenance []string `json:"provenance,omitempty"`
	// Pull are the references to pull this version by.
	Pull Pull `json:"pull"`
	// Packages are what the SBOMs list, merged over platforms; nil (and
	// HasPackages false) when some platform has no SBOM.
	HasPackages bool                `json:"has_packages"`
	Packages    []inventory.Package `json:"packages,omitempty"`
	// Changes are what changed from the next older version; nil for the
	// oldest.
	Changes *changelog.Diff `json:"changes,omitempty"`
	// Vulnerabilities counts the version's known vulnerabilities and
	// Findings lists them (each once over its platforms), when the
	// catalog was made with a feed.
	Vulnerabilities *vulns.Counts   `json:"vulnerabilities,omitempty"`
	Findings        []vulns.Finding `json:"findings,omitempty"`
}

// Deprecation is what a version's lifecycle marker says.
type Deprecation struct {
	EndOfLife    string `json:"end_of_life"`
	DeprecatedOn string `json:"deprecated_on,omitempty"`
	Reason       string `json:"reason,omitempty"`
	SupersededBy string `json:"superseded_by,omitempty"`
	// SupersededByDigest is the successor's digest.
	SupersededByDigest string `json:"superseded_by_digest,omitempty"`
	Replacement        string `json:"replacement,omitempty"`
}

// Platform is one platform of a version.
type Platform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	// Size is the compressed size: what a pull downloads.
	Size int64 `json:"size"`
}

// Pull are a version's pull references.
type Pull struct {
	// Digest is REPOSITORY@sha256:…: exactly this version, forever.
	Digest string `json:"digest"`
	// Tag is REPOSITORY:VERSION, the dated tag.
	Tag string `json:"tag"`
}

// Observation is what Observe read: the status report and, per version
// digest, what the version holds.
type Observation struct {
	Report   *status.Report
	Contents map[string]*inventory.Version
	// Vulns, when set, matches each version's packages.
	Vulns *VulnFeed
}

// VulnFeed is a vulnerability feed and what judging findings needs.
type VulnFeed struct {
	Feed   *vulndb.Feed
	Source string
	Ignore []spec.VulnIgnore
	// Day judges the accepted risks (YYYY-MM-DD).
	Day string
}

// Compute makes the catalog of lib from what was observed, stamped with
// meta. It is pure: same input, same catalog.
func Compute(lib *spec.Library, obs *Observation, meta Meta) *Catalog {
	c := &Catalog{
		FormatVersion: FormatVersion,
		Generated:     meta.Generated.UTC().Truncate(time.Second).Format(time.RFC3339),
		Registry:      obs.Report.Registry,
		Images:        []Image{},
	}
	g := lib.Graph()
	depth := map[string]int{}
	for _, n := range g.Order() {
		if p := g.Parent(n); p != "" && lib.Image(p) != nil {
			depth[n] = depth[p] + 1
		}
	}
	if obs.Vulns != nil {
		f := vulns.FeedOf(obs.Vulns.Feed, obs.Vulns.Source)
		c.Vulnerabilities = &f
	}
	for _, si := range obs.Report.Images {
		im := computeImage(lib, si, obs.Contents)
		if obs.Vulns != nil {
			matchVersions(&im, obs)
		}
		if im.Spec != nil && meta.SpecURL != "" {
			im.Spec.URL = SpecURL(meta.SpecURL, *im.Spec)
		}
		im.Depth = depth[im.Name]
		for _, ch := range g.Children(im.Name) {
			im.Children = append(im.Children, ch)
		}
		sort.Strings(im.Children)
		c.Images = append(c.Images, im)
	}
	sort.Slice(c.Images, func(i, j int) bool { return c.Images[i].Name < c.Images[j].Name })
	return c
}

func computeImage(lib *spec.Library, si status.Image, contents map[string]*inventory.Version) Image {
	im := Image{
		Name: si.Name, Repository: si.Repository, Team: si.Team, Family: si.Family,
		Parent: si.Parent, Latest: si.Latest, State: StateCurrent, Versions: []Version{},
	}
	server := spec.ServerNone
	if s := lib.Image(si.Name); s != nil {
		server = lib.ServerOf(s)
		im.Description, im.ParentVersion = s.Description, s.ParentVersion
		for i, sz := range lib.SizesOf(s) {
			im.Sizes = append(im.Sizes, Size{Name: sz.Name, CPU: sz.CPU, Memory: sz.Memory, GPU: sz.GPU, Description: sz.Description, Default: i == 0})
		}
		if s.IsExternal() {
			im.From = s.From
		}
		if s.Pos.IsValid() {
			p := s.Pos.RelativeTo(lib.Dir)
			im.Spec = &SpecPos{File: p.Filename, Line: p.Line, Column: p.Column}
		}
	}
	if len(si.Versions) == 0 {
		im.State = StateUnpublished
	}
	if si.Retired == nil && si.Latest != "" && server != spec.ServerNone {
		im.Launcher, im.Server = si.Name, server // the entry launcher.Of offers (its slug)
	}
	if si.Retired != nil {
		im.State = StateRetired
		im.Retired = &Retirement{Reason: si.Retired.Reason, Replacement: si.Retired.Replacement}
		for _, v := range si.Versions {
			if v.Deprecated {
				im.Retired.EndOfLife = v.EndOfLife
				break
			}
		}
	}
	for i, sv := range si.Versions {
		v := Version{
			Version: sv.Version, Digest: sv.Digest, Date: sv.Date, State: VersionCurrent,
			BuiltOn: sv.BuiltOn, Signature: sv.Signature, SBOM: sv.SBOM, Provenance: sv.Provenance,
			Pull:      Pull{Digest: si.Repository + "@" + sv.Digest, Tag: si.Repository + ":" + sv.Version},
			Platforms: []Platform{},
		}
		switch {
		case sv.Deprecated && sv.SupersededBy == "" && si.Retired != nil:
			v.State = VersionRetired
		case sv.Deprecated:
			v.State = VersionDeprecated
		case sv.Latest:
			v.State = VersionLatest
		}
		if sv.Deprecated {
			v.Deprecation = &Deprecation{
				EndOfLife: sv.EndOfLife, DeprecatedOn: sv.DeprecatedOn, Reason: sv.Reason,
				SupersededBy: sv.SupersededBy, SupersededByDigest: sv.SupersededByDigest, Replacement: sv.Replacement,
			}
		}
		inv := contents[sv.Digest]
		if inv != nil {
			for _, p := range inv.Platforms {
				v.Platforms = append(v.Platforms, Platform{Platform: p.Platform, Digest: p.Digest, Size: p.Size})
			}
			if inv.HasPackages() {
				v.HasPackages, v.Packages = true, inv.Packages()
			}
			if i+1 < len(si.Versions) {
				old := si.Versions[i+1]
				if prev := contents[old.Digest]; prev != nil {
					v.Changes = changelog.Compute(si.Name, prev, inv, old.Version, sv.Version)
				}
			}
		} else {
			for _, p := range sv.Platforms {
				v.Platforms = append(v.Platforms, Platform{Platform: p})
			}
		}
		im.Versions = append(im.Versions, v)
	}
	return im
}

// Image returns the image called name, or nil.
func (c *Catalog) Image(name string) *Image {
	for i := range c.Images {
		if c.Images[i].Name == name {
			return &c.Images[i]
		}
	}
	return nil
}

// LatestVersion returns the version latest points at, else the newest
// version, else nil.
func (im *Image) LatestVersion() *Version {
	for i := range im.Versions {
		if im.Versions[i].Version == im.Latest {
			return &im.Versions[i]
		}
	}
	if len(im.Versions) > 0 {
		return &im.Versions[0]
	}
	return nil
}

// Size is the largest compressed size among the version's platforms.
func (v *Version) Size() int64 {
	var n int64
	for _, p := range v.Platforms {
		n = max(n, p.Size)
	}
	return n
}

// matchVersions fills each version's findings from what it holds.
func matchVersions(im *Image, obs *Observation) {
	for i := range im.Versions {
		v := &im.Versions[i]
		held := obs.Contents[v.Digest]
		if held == nil || !v.HasPackages {
			continue
		}
		ps := vulns.Match(obs.Vulns.Feed, held, im.Name, obs.Vulns.Ignore, obs.Vulns.Day)
		one := vulns.Image{Name: im.Name, Version: v.Version, Digest: v.Digest, Platforms: ps}
		counts := vulns.CountsOf(one)
		v.Vulnerabilities = &counts
		seen := map[string]bool{}
		v.Findings = []vulns.Finding{}
		for _, p := range ps {
			for _, f := range p.Findings {
				if k := f.ID + "\x00" + f.Package; !seen[k] {
					seen[k] = true
					v.Findings = append(v.Findings, f)
				}
			}
		}
	}
}
