package vulns

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/vulndb"
)

// FormatVersion versions the JSON report (docs/vulnerabilities.md).
const FormatVersion = "1"

// Report is what imgctl vulns prints.
type Report struct {
	FormatVersion string `json:"format_version"`
	Feed          Feed   `json:"feed"`
	// Day is the day the accepted risks were judged on (YYYY-MM-DD).
	Day    string  `json:"day"`
	Images []Image `json:"images"`
}

// Feed describes the feed the report was matched against.
type Feed struct {
	// Source is the directory or artifact reference it was read from.
	Source     string   `json:"source"`
	Date       string   `json:"date"`
	Digest     string   `json:"digest"`
	Ecosystems []string `json:"ecosystems"`
	Records    int      `json:"records"`
}

// FeedOf describes f, read from source.
func FeedOf(f *vulndb.Feed, source string) Feed {
	d := ""
	if !f.Date.IsZero() {
		d = f.Date.Format("2006-01-02")
	}
	return Feed{Source: source, Date: d, Digest: f.Digest, Ecosystems: f.Ecosystems, Records: f.Records}
}

// Image is one version of one image.
type Image struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// Latest says the latest tag points at it.
	Latest    bool       `json:"latest,omitempty"`
	Platforms []Platform `json:"platforms"`
}

// Platform is what one platform's SBOM matched.
type Platform struct {
	Platform string `json:"platform"`
	// SBOM is false when the platform has no SBOM: nothing can be told.
	SBOM     bool      `json:"sbom"`
	Findings []Finding `json:"findings"`
	// Unmatched are packages the feed could not be asked about (a version
	// the ecosystem's order cannot read), each with why: reported, so
	// that a clean result is never a silent one.
	Unmatched []string `json:"unmatched,omitempty"`
}

// Finding is one vulnerability in one installed package.
type Finding struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases"`
	Package string   `json:"package"`
	// Ecosystem is the OSV ecosystem matched: "Debian:12", "PyPI", "CRAN".
	Ecosystem string `json:"ecosystem"`
	Installed string `json:"installed"`
	// Fixed is the smallest fixed version above Installed ("" for none).
	Fixed string `json:"fixed"`
	// Severity: critical, high, medium, low or unknown; Score its CVSS
	// base score when it comes from one.
	Severity string  `json:"severity"`
	Score    float64 `json:"score,omitempty"`
	// Source is the Debian source package a binary package was matched
	// by ("util-linux 2.38.1-5+deb12u3"), when it differs.
	Source  string   `json:"source,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Ignored *Ignored `json:"ignored,omitempty"`
}

// Ignored is the accepted risk (policy.vulnerabilities.ignore) a finding
// falls under.
type Ignored struct {
	Reason string `json:"reason"`
	Until  string `json:"until"`
}

// IDs are a finding's id and aliases.
func (f Finding) IDs() []string { return append([]string{f.ID}, f.Aliases...) }

// Has reports whether f is known by id (its id or an alias).
func (f Finding) Has(id string) bool {
	for _, x := range f.IDs() {
		if strings.EqualFold(x, id) {
			return true
		}
	}
	return false
}

// query maps an installed package to the feed's vocabulary; false when
// it is not matched (another ecosystem, a Debian package's files, a deb
// package whose Debian release is unknown).
func query(p inventory.Package) (vulndb.Package, bool) {
	switch {
	case p.OS:
		return vulndb.Package{}, false
	case p.Ecosystem == inventory.Deb:
		rel, ok := debianRelease(p.Distro)
		if !ok {
			return vulndb.Package{}, false
		}
		return vulndb.Package{Ecosystem: "Debian:" + rel, Name: p.Name, Version: p.Version, Source: p.Source, SourceVersion: p.SourceVersion}, true
	case p.Ecosystem == inventory.Python:
		return vulndb.Package{Ecosystem: "PyPI", Name: p.Name, Version: p.Version}, true
	case p.Ecosystem == inventory.R:
		return vulndb.Package{Ecosystem: "CRAN", Name: p.Name, Version: p.Version}, true
	}
	return vulndb.Package{}, false
}

// debianRelease is the major release of "debian-12.15" ("12").
func debianRelease(distro string) (string, bool) {
	v, ok := strings.CutPrefix(distro, "debian-")
	if !ok || v == "" {
		return "", false
	}
	major, _, _ := strings.Cut(v, ".")
	return major, major != ""
}

// Match matches the packages of v (read with its packages) against f for
// image, judging the accepted risks on day (YYYY-MM-DD).
func Match(f *vulndb.Feed, v *inventory.Version, image string, ignore []spec.VulnIgnore, day string) []Platform {
	out := make([]Platform, 0, len(v.Platforms))
	for _, p := range v.Platforms {
		pl := Platform{Platform: p.Platform, SBOM: p.SBOM, Findings: []Finding{}}
		for _, x := range p.Packages {
			q, ok := query(x)
			if !ok {
				continue
			}
			ms, err := f.Matches(q)
			if err != nil {
				pl.Unmatched = append(pl.Unmatched, err.Error())
				continue
			}
			for _, m := range ms {
				fd := Finding{ID: m.ID, Aliases: m.Aliases, Package: x.Name, Ecosystem: q.Ecosystem, Installed: x.Version,
					Fixed: m.Fixed, Severity: m.Severity, Score: m.Score, Summary: m.Summary}
				if fd.Aliases == nil {
					fd.Aliases = []string{}
				}
				if x.Source != "" {
					fd.Source = x.Source + " " + x.SourceVersion
				}
				for _, ig := range ignore {
					if ig.Applies(fd.IDs(), image, day) {
						fd.Ignored = &Ignored{Reason: ig.Reason, Until: ig.Until}
						break
					}
				}
				pl.Findings = append(pl.Findings, fd)
			}
		}
		sortFindings(pl.Findings)
		out = append(out, pl)
	}
	return out
}

// sortFindings orders by severity (highest first), package, id.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return less(fs[i], fs[j]) })
}

func less(a, b Finding) bool {
	if ra, rb := vulndb.Rank(a.Severity), vulndb.Rank(b.Severity); ra != rb {
		return ra > rb
	}
	if a.Package != b.Package {
		return a.Package < b.Package
	}
	return a.ID < b.ID
}

// Reader reads a version with its packages (inventory.Reader).
type Reader interface {
	Read(ctx context.Context, ref name.Digest, o inventory.Options) (*inventory.Version, error)
}

// Target is one version to scan.
type Target struct {
	Image, Repository, Version, Digest string
	Latest                             bool
}

// Scan reads each target's SBOMs (each version digest once, and each
// platform manifest its versions share once; jobs at a time) and matches
// them. Targets come back in the order given.
func Scan(ctx context.Context, f *vulndb.Feed, r Reader, targets []Target, ignore []spec.VulnIgnore, day string, jobs int) ([]Image, error) {
	out := make([]Image, len(targets))
	cache := &inventory.Cache{} // platforms versions share are read once
	var mu sync.Mutex
	read := map[string]*inventory.Version{} // digest -> version, shared
	once := map[string]*sync.Once{}
	errs := map[string]error{}
	get := func(ctx context.Context, t Target) (*inventory.Version, error) {
		mu.Lock()
		o := once[t.Digest]
		if o == nil {
			o = &sync.Once{}
			once[t.Digest] = o
		}
		mu.Unlock()
		o.Do(func() {
			ref, err := name.NewDigest(t.Repository+"@"+t.Digest, name.Insecure)
			var v *inventory.Version
			if err == nil {
				v, err = r.Read(ctx, ref, inventory.Options{Packages: true, Jobs: 2, Cache: cache})
			}
			mu.Lock()
			read[t.Digest], errs[t.Digest] = v, err
			mu.Unlock()
		})
		mu.Lock()
		defer mu.Unlock()
		return read[t.Digest], errs[t.Digest]
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for i, t := range targets {
		g.Go(func() error {
			v, err := get(gctx, t)
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.Image, t.Version, err)
			}
			ps := Match(f, v, t.Image, ignore, day)
			out[i] = Image{Name: t.Image, Version: t.Version, Digest: t.Digest, Latest: t.Latest, Platforms: ps}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Filter keeps, in every image, only the findings known by one of ids;
// images left without any are dropped (the incident question: which
// versions contain it).
func Filter(images []Image, ids []string) []Image {
	if len(ids) == 0 {
		return images
	}
	var out []Image
	for _, im := range images {
		found := false
		im.Platforms = append([]Platform(nil), im.Platforms...) // the caller's stay whole
		for i := range im.Platforms {
			p := &im.Platforms[i]
			kept := []Finding{}
			for _, f := range p.Findings {
				for _, id := range ids {
					if f.Has(id) {
						kept = append(kept, f)
						break
					}
				}
			}
			p.Findings = kept
			found = found || len(kept) > 0
		}
		if found {
			out = append(out, im)
		}
	}
	return out
}

// AtOrAbove returns the findings of im at severity level or above that no
// accepted risk covers; with fixable, only those with a fixed version.
// They are what fails the gate (and --severity).
func AtOrAbove(im Image, level string, fixable bool) []Finding {
	var out []Finding
	for _, p := range im.Platforms {
		for _, f := range p.Findings {
			if f.Ignored == nil && vulndb.Rank(f.Severity) >= vulndb.Rank(level) && (!fixable || f.Fixed != "") {
				out = append(out, f)
			}
		}
	}
	return out
}

// Counts are findings by severity (ignored ones apart).
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
	Ignored  int `json:"ignored"`
}

// CountsOf counts im's distinct findings (a finding on several platforms
// once: by id and package).
func CountsOf(im Image) Counts {
	var c Counts
	seen := map[[2]string]bool{}
	for _, p := range im.Platforms {
		for _, f := range p.Findings {
			k := [2]string{f.ID, f.Package}
			if seen[k] {
				continue
			}
			seen[k] = true
			if f.Ignored != nil {
				c.Ignored++
				continue
			}
			switch f.Severity {
			case vulndb.Critical:
				c.Critical++
			case vulndb.High:
				c.High++
			case vulndb.Medium:
				c.Medium++
			case vulndb.Low:
				c.Low++
			default:
				c.Unknown++
			}
		}
	}
	return c
}

// String renders c: "1 critical, 2 high, 1 ignored"; "none" when empty.
func (c Counts) String() string {
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{c.Critical, "critical"}, {c.High, "high"}, {c.Medium, "medium"}, {c.Low, "low"}, {c.Unknown, "unknown"}, {c.Ignored, "ignored"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Gate is the publish gate of policy.vulnerabilities: a new version with
// a finding at Fail or above (with a fixed version, when Fixable) that no
// accepted risk covers fails before any tag moves.
type Gate struct {
	Feed    *vulndb.Feed
	Reader  Reader
	Fail    string
	Fixable bool
	Ignore  []spec.VulnIgnore
	// Day judges the accepted risks' expiry (YYYY-MM-DD).
	Day string
}

// GateError lists the findings that failed a version.
type GateError struct {
	Image, Version string
	Fail           string
	Fixable        bool
	Findings       []Finding
}

func (e *GateError) Error() string {
	what := "a finding"
	if e.Fixable {
		what = "a fixable finding"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s has %s at %s or above (policy.vulnerabilities.fail):", e.Image, e.Version, what, e.Fail)
	seen := map[string]bool{}
	for _, f := range e.Findings {
		k := f.ID + " " + f.Package + " " + f.Installed
		if seen[k] {
			continue
		}
		seen[k] = true
		fixed := "no fix yet"
		if f.Fixed != "" {
			fixed = "fixed in " + f.Fixed
		}
		fmt.Fprintf(&b, "\n  %s %s: %s %s (%s), %s", strings.ToUpper(f.Severity), strings.Join(f.IDs(), " "), f.Package, f.Installed, f.Ecosystem, fixed)
	}
	b.WriteString("\nupgrade the package (imgctl lock --upgrade, or a newer base), or accept the risk in policy.vulnerabilities.ignore with a reason and an expiry")
	return b.String()
}

// Check scans repo@digest, the new version of image.
func (g *Gate) Check(ctx context.Context, image, version, repo, digest string) error {
	ims, err := Scan(ctx, g.Feed, g.Reader, []Target{{Image: image, Repository: repo, Version: version, Digest: digest}}, g.Ignore, g.Day, 1)
	if err != nil {
		return err
	}
	for _, p := range ims[0].Platforms {
		if !p.SBOM {
			return fmt.Errorf("%s %s: %s has no SBOM to check for vulnerabilities (policy.vulnerabilities.fail needs policy.sbom)", image, version, p.Platform)
		}
	}
	if bad := AtOrAbove(ims[0], g.Fail, g.Fixable); len(bad) > 0 {
		return &GateError{Image: image, Version: version, Fail: g.Fail, Fixable: g.Fixable, Findings: bad}
	}
	return nil
}

// Counter counts versions' findings by severity (status, the catalog).
type Counter struct {
	Feed   *vulndb.Feed
	Reader Reader
	Ignore []spec.VulnIgnore
	Day    string
}

// Counts scans repo@digest, version of image.
func (c *Counter) Counts(ctx context.Context, image, repo, version, digest string) (Counts, error) {
	ims, err := Scan(ctx, c.Feed, c.Reader, []Target{{Image: image, Repository: repo, Version: version, Digest: digest}}, c.Ignore, c.Day, 1)
	if err != nil {
		return Counts{}, err
	}
	return CountsOf(ims[0]), nil
}
