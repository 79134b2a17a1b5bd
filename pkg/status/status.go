package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/verify"
	"github.com/imgctl/imgctl/pkg/vulns"
)

// FormatVersion versions the JSON report.
const FormatVersion = "1"

// Registry is the read access status needs.
type Registry interface {
	ListTags(ctx context.Context, repo string) ([]string, error)
	Manifest(ctx context.Context, ref string) (*published.Manifest, error)
	// Markers lists repo@digest's lifecycle markers; tags is repo's tag
	// list as just read (a registry without the referrers API needs no
	// request for a version whose fallback tag is not listed).
	Markers(ctx context.Context, repo, digest string, tags []string) ([]lifecycle.Marker, error)
}

// Report is the status of a library's images.
type Report struct {
	FormatVersion string  `json:"format_version"`
	Registry      string  `json:"registry"`
	Images        []Image `json:"images"`
}

// Image is one image's published history.
type Image struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	Team       string `json:"team,omitempty"`
	Family     string `json:"family,omitempty"`
	Parent     string `json:"parent,omitempty"`
	// SizePresets are the size presets sessions of the image may use, the
	// default first (the library's sizes; none without presets).
	SizePresets []string `json:"size_presets,omitempty"`
	// Latest is the version the latest tag points at ("" when none does).
	Latest string `json:"latest,omitempty"`
	// Retired holds the spec's retirement, when declared.
	Retired *spec.Deprecation `json:"retired,omitempty"`
	// Versions are the dated versions imgctl published, newest first.
	Versions []Version `json:"versions"`
	// Foreign are the repository's tags imgctl did not write (listed
	// apart from Versions, left as they are): dated-looking tags whose
	// manifests are not imgctl's or are missing, a latest on an image
	// imgctl did not publish, and any other tag (v1, a chart's 0.1.0).
	// Attached artifacts (sha256-….sig) and VERSION-deprecated tags are
	// not listed.
	Foreign []ForeignTag `json:"foreign,omitempty"`
	// Tags are every tag of the repository as listed, sorted: the
	// observation that imgctl prune reads further (moving tags' targets,
	// signatures, tombstones). Not part of the report.
	Tags []string `json:"-"`
}

// ForeignTag is a tag imgctl did not write (published.ForeignTag).
type ForeignTag = published.ForeignTag

// The notes of a ForeignTag.
const (
	ForeignImage   = published.ForeignImage
	ForeignMissing = published.ForeignMissing
	ForeignTagOnly = published.ForeignTagOnly
)

// Version is one published dated version.
type Version struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// Date is the day the version was published (from its tag).
	Date       string `json:"date"`
	Latest     bool   `json:"latest"`
	Deprecated bool   `json:"deprecated"`
	// Platforms are the version's platforms, from its index; empty for a
	// version published as a single manifest.
	Platforms []string `json:"platforms,omitempty"`
	// The fields below come from the lifecycle marker, when deprecated.
	EndOfLife          string `json:"end_of_life,omitempty"`
	DeprecatedOn       string `json:"deprecated_on,omitempty"`
	SupersededBy       string `json:"superseded_by,omitempty"`
	SupersededByDigest string `json:"superseded_by_digest,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Replacement        string `json:"replacement,omitempty"`
	// BuiltOn is the parent version this version was built FROM.
	BuiltOn *BuiltOn `json:"built_on,omitempty"`
	// Signature is "signed" or "unsigned" (verify.SignaturePresent,
	// SignatureMissing); "" when not read.
	Signature string `json:"signature,omitempty"`
	// SBOM and Provenance are the platforms that carry one.
	SBOM       []string `json:"sbom,omitempty"`
	Provenance []string `json:"provenance,omitempty"`
	// Sizes are the compressed sizes per platform, in Platforms order
	// (one entry for a single manifest); nil when not read.
	Sizes []PlatformSize `json:"sizes,omitempty"`
	// Packages are the packages the version's SBOMs list (merged over
	// its platforms), when asked for (Options.Packages); PackagesMissing
	// says why there are none.
	Packages        []inventory.Package `json:"packages,omitempty"`
	PackagesMissing string              `json:"packages_missing,omitempty"`
	// Unlocked are, with Packages, the packages a version built from a
	// lock holds beyond that lock and its base: a run: step installed
	// them outside the lock. UnlockedUnknown names the platforms where
	// that cannot be told (no SBOM, or none for the base).
	Unlocked        []lock.Unlocked `json:"unlocked,omitempty"`
	UnlockedUnknown []string        `json:"unlocked_unknown,omitempty"`
	// Vulnerabilities counts the version's known vulnerabilities by
	// severity, when a feed was given (Options.Vulns).
	Vulnerabilities *vulns.Counts `json:"vulnerabilities,omitempty"`
	// Prune says why the next imgctl prune would delete the version
	// (policy.retention), when the caller judged it (SetPrune); "" when
	// it would be kept or was not judged.
	Prune string `json:"prune,omitempty"`
	// Manifests are what the version's index names (platform and
	// attestation manifests): read for imgctl prune, not reported.
	Manifests []published.Child `json:"-"`
}

// Vulns counts a version's known vulnerabilities (vulns.Counter).
type Vulns interface {
	Counts(ctx context.Context, image, repo, version, digest string) (vulns.Counts, error)
}

// PlatformSize is one platform's compressed size: what a pull downloads.
type PlatformSize struct {
	Platform string `json:"platform"`
	Size     int64  `json:"size"`
}

// BuiltOn names a base by image, version and digest.
type BuiltOn struct {
	Image   string `json:"image,omitempty"`
	Version string `json:"version,omitempty"`
	Ref     string `json:"ref,omitempty"`
	Digest  string `json:"digest"`
}

// Trust reads what a version carries: its signature and, per platform,
// SBOM and provenance (verify.Checker).
type Trust interface {
	Check(ctx context.Context, ref name.Digest, revision string) (*verify.Report, error)
}

var _ Trust = (*verify.Checker)(nil)

// Inventory reads what is inside a version (inventory.Reader).
type Inventory interface {
	Read(ctx context.Context, ref name.Digest, o inventory.Options) (*inventory.Version, error)
}

var _ Inventory = inventory.Reader{}

// Options configure Collect.
type Options struct {
	// Trust, when set, fills each version's Signature, SBOM and
	// Provenance.
	Trust Trust
	// Registry overrides the library's registry.
	Registry string
	// Names restricts the report to these images (their parents are read
	// too, to name the version each was built on).
	Names []string
	Jobs  int
	// Inventory, when set, fills each version's Sizes.
	Inventory Inventory
	// Vulns, when set, fills each version's Vulnerabilities.
	Vulns Vulns
	// Packages fills Packages of one version of each image: PackagesOf,
	// or the latest when "". It needs Inventory.
	Packages   bool
	PackagesOf string
}

// Collect reads every image's tags, each version's manifest and its
// lifecycle markers.
func Collect(ctx context.Context, lib *spec.Library, reg Registry, opts Options) (*Report, error) {
	registry := lib.Registry
	if opts.Registry != "" {
		registry = opts.Registry
	}
	for _, n := range opts.Names {
		if lib.Image(n) == nil {
			return nil, fmt.Errorf("no image %q in the library", n)
		}
	}
	g := lib.Graph()
	names := g.Order()
	if len(opts.Names) > 0 {
		names = g.Closure(opts.Names)
	}
	images := make([]Image, len(names))
	asked := map[string]bool{}
	for _, n := range opts.Names {
		asked[n] = true
	}
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(max(1, opts.Jobs))
	for i, n := range names {
		eg.Go(func() error {
			o := opts
			// Packages only of the images asked for, not their parents.
			o.Packages = opts.Packages && (len(asked) == 0 || asked[n])
			im, err := collectImage(ctx, reg, o, lib.Image(n), registry+"/"+n)
			if err != nil {
				return fmt.Errorf("image %s: %w", n, err)
			}
			images[i] = im
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	linkParents(images)
	r := &Report{FormatVersion: FormatVersion, Registry: registry, Images: []Image{}}
	want := map[string]bool{}
	for _, n := range opts.Names {
		want[n] = true
	}
	for _, im := range images {
		if len(want) == 0 || want[im.Name] {
			for _, sz := range lib.SizesOf(lib.Image(im.Name)) {
				im.SizePresets = append(im.SizePresets, sz.Name)
			}
			r.Images = append(r.Images, im)
		}
	}
	return r, nil
}

func collectImage(ctx context.Context, reg Registry, opts Options, si *spec.Image, repo string) (Image, error) {
	trust, jobs, outer := opts.Trust, opts.Jobs, ctx
	im := Image{Name: si.Name, Repository: repo, Team: si.Team, Family: si.Family, Parent: si.Parent, Retired: si.Deprecated, Versions: []Version{}}
	tags, err := reg.ListTags(ctx, repo)
	if err != nil {
		return im, err
	}
	dated := published.VersionTags(tags)
	vs := make([]Version, len(dated))
	foreign := make([]*ForeignTag, len(dated)) // by dated index
	var latest string
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(max(1, jobs))
	hasLatest := false
	moving := append([]string{published.Latest}, si.Tags...)
	var others []ForeignTag
	for _, t := range tags {
		hasLatest = hasLatest || t == published.Latest
		if published.Classify(t, moving) == published.TagOther {
			others = append(others, ForeignTag{Tag: t, Note: ForeignTagOnly})
		}
	}
	if hasLatest {
		eg.Go(func() error {
			m, err := reg.Manifest(ctx, repo+":latest")
			if errors.Is(err, published.ErrNotFound) {
				return nil // listed, gone: as if absent
			}
			if err != nil {
				return err
			}
			mu.Lock()
			latest = m.Digest
			mu.Unlock()
			return nil
		})
	}
	for i, v := range dated {
		eg.Go(func() error {
			m, err := reg.Manifest(ctx, repo+":"+v)
			switch {
			case errors.Is(err, published.ErrNotFound):
				foreign[i] = &ForeignTag{Tag: v, Note: ForeignMissing}
				return nil
			case err != nil:
				return err
			case !m.Written():
				foreign[i] = &ForeignTag{Tag: v, Digest: m.Digest, Note: ForeignImage}
				return nil
			}
			pv, _ := published.ParseVersion(v) // a dated tag
			ver := Version{Version: v, Digest: m.Digest, Date: pv.Date(), Platforms: m.Platforms, Manifests: m.Manifests}
			if d := m.Annotations[published.AnnotationBaseDigest]; d != "" {
				ver.BuiltOn = &BuiltOn{Ref: m.Annotations[published.AnnotationBaseName], Digest: d}
			}
			ref, err := name.NewDigest(repo+"@"+m.Digest, name.Insecure)
			if err != nil {
				return err
			}
			if opts.Inventory != nil {
				iv, err := opts.Inventory.Read(ctx, ref, inventory.Options{})
				if err != nil {
					return err
				}
				for _, p := range iv.Platforms {
					ver.Sizes = append(ver.Sizes, PlatformSize{Platform: p.Platform, Size: p.Size})
				}
			}
			if trust != nil {
				t, err := trust.Check(ctx, ref, m.Annotations[published.AnnotationRevision])
				if err != nil {
					return err
				}
				ver.Signature, ver.SBOM, ver.Provenance = t.Signature, t.SBOMPlatforms(), t.ProvenancePlatforms()
			}
			if opts.Vulns != nil {
				c, err := opts.Vulns.Counts(ctx, im.Name, repo, v, m.Digest)
				if err != nil {
					return err
				}
				ver.Vulnerabilities = &c
			}
			markers, err := reg.Markers(ctx, repo, m.Digest, tags)
			if err != nil {
				return err
			}
			if len(markers) > 0 {
				mk := markers[len(markers)-1] // the most recent decision
				ver.Deprecated = true
				ver.EndOfLife, ver.DeprecatedOn, ver.Reason = mk.EndOfLife, mk.Date, mk.Reason
				ver.SupersededBy, ver.SupersededByDigest, ver.Replacement = mk.SupersededByTag, mk.SupersededByDigest, mk.Replacement
			}
			vs[i] = ver
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return im, err
	}
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		if foreign[i] != nil {
			im.Foreign = append(im.Foreign, *foreign[i])
			continue
		}
		v := vs[i]
		if latest != "" && v.Digest == latest && im.Latest == "" {
			v.Latest, im.Latest = true, v.Version
		}
		im.Versions = append(im.Versions, v)
	}
	if latest != "" && im.Latest == "" {
		im.Foreign = append(im.Foreign, ForeignTag{Tag: published.Latest, Digest: latest, Note: ForeignImage})
	}
	slices.SortFunc(others, func(a, b ForeignTag) int { return strings.Compare(a.Tag, b.Tag) })
	im.Foreign = append(im.Foreign, others...)
	im.Tags = slices.Sorted(slices.Values(tags))
	if opts.Packages && opts.Inventory != nil {
		if err := readPackages(outer, opts, &im); err != nil {
			return im, err
		}
	}
	return im, nil
}

// readPackages fills the package list of the version Options.PackagesOf
// (default: latest) of im.
func readPackages(ctx context.Context, opts Options, im *Image) error {
	want := opts.PackagesOf
	if want == "" {
		want = im.Latest
	}
	if want == "" {
		return nil // nothing published, or no latest: the table says so
	}
	for i := range im.Versions {
		v := &im.Versions[i]
		if v.Version != want {
			continue
		}
		ref, err := name.NewDigest(im.Repository+"@"+v.Digest, name.Insecure)
		if err != nil {
			return err
		}
		iv, err := opts.Inventory.Read(ctx, ref, inventory.Options{Packages: true})
		if err != nil {
			return err
		}
		if !iv.HasPackages() {
			v.PackagesMissing = "no SBOM attestation for every platform"
			return nil
		}
		v.Packages = iv.Packages()
		if raw := iv.Annotations[published.AnnotationLock]; raw != "" {
			return readUnlocked(ctx, opts.Inventory, v, iv, raw)
		}
		return nil
	}
	return fmt.Errorf("no version %s (its versions: %s)", want, versionList(im.Versions))
}

// readUnlocked fills v's Unlocked from iv (read with its packages), the
// lock it was built from (raw, its annotation) and its base's SBOMs.
func readUnlocked(ctx context.Context, inv Inventory, v *Version, iv *inventory.Version, raw string) error {
	l, err := lock.Parse(v.Version, []byte(raw))
	if err != nil {
		return err
	}
	v.Unlocked, v.UnlockedUnknown, err = inventory.ReadUnlocked(ctx, inv, iv, l)
	return err
}

func versionList(vs []Version) string {
	if len(vs) == 0 {
		return "none"
	}
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Version
	}
	return strings.Join(names, ", ")
}

// linkParents names the parent version each version was built on.
func linkParents(images []Image) {
	byDigest := map[string][2]string{} // digest -> image, version
	for _, im := range images {
		for _, v := range im.Versions {
			if _, ok := byDigest[v.Digest]; !ok {
				byDigest[v.Digest] = [2]string{im.Name, v.Version}
			}
		}
	}
	for _, im := range images {
		for _, v := range im.Versions {
			if v.BuiltOn == nil {
				continue
			}
			if iv, ok := byDigest[v.BuiltOn.Digest]; ok && iv[0] == im.Parent {
				v.BuiltOn.Image, v.BuiltOn.Version = iv[0], iv[1]
			}
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText renders the report for people, one block per image.
func (r *Report) WriteText(w io.Writer) error {
	for i, im := range r.Images {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var about []string
		if im.Family != "" {
			about = append(about, "family "+im.Family)
		}
		if im.Team != "" {
			about = append(about, "team "+im.Team)
		}
		if im.Parent != "" {
			about = append(about, "on "+im.Parent)
		}
		head := im.Name + "  " + im.Repository
		if len(about) > 0 {
			head += "  (" + strings.Join(about, ", ") + ")"
		}
		fmt.Fprintln(w, head)
		if im.Retired != nil {
			msg := "  RETIRED: " + im.Retired.Reason
			if im.Retired.Replacement != "" {
				msg += "; use " + im.Retired.Replacement + " instead"
			}
			fmt.Fprintln(w, msg)
		}
		if len(im.Versions) == 0 {
			fmt.Fprintln(w, "  no published versions")
			writeForeign(w, im.Foreign)
			continue
		}
		trust := false
		for _, v := range im.Versions {
			trust = trust || v.Signature != ""
		}
		sizes, vulnCol := false, false
		for _, v := range im.Versions {
			sizes = sizes || v.Sizes != nil
			vulnCol = vulnCol || v.Vulnerabilities != nil
		}
		cols := []string{"VERSION", "DIGEST", "PLATFORMS"}
		if sizes {
			cols = append(cols, "SIZE")
		}
		if trust {
			cols = append(cols, "SIGNED", "SBOM", "PROVENANCE")
		}
		if vulnCol {
			cols = append(cols, "VULNERABILITIES")
		}
		rows := [][]string{append(cols, "STATUS", "BUILT ON")}
		for _, v := range im.Versions {
			plats := strings.Join(v.Platforms, ",")
			if plats == "" {
				plats = "-"
			}
			row := []string{v.Version, published.ShortDigest(v.Digest), plats}
			if sizes {
				row = append(row, sizeList(v.Sizes))
			}
			if trust {
				row = append(row, v.Signature, coverage(v.SBOM, v.Platforms), coverage(v.Provenance, v.Platforms))
			}
			if vulnCol {
				c := "-"
				if v.Vulnerabilities != nil {
					c = v.Vulnerabilities.String()
				}
				row = append(row, c)
			}
			rows = append(rows, append(row, versionState(v), builtOn(v.BuiltOn)))
		}
		writeRows(w, rows)
		writeForeign(w, im.Foreign)
	}
	return nil
}

// writeForeign lists the tags imgctl did not write, apart from versions.
func writeForeign(w io.Writer, fs []ForeignTag) {
	if len(fs) == 0 {
		return
	}
	items := make([]string, len(fs))
	for i, f := range fs {
		switch f.Note {
		case ForeignTagOnly:
			items[i] = f.Tag
		case ForeignMissing:
			items[i] = f.Tag + " (manifest missing)"
		default:
			items[i] = f.Tag + " (not imgctl's: " + published.ShortDigest(f.Digest) + ")"
		}
	}
	fmt.Fprintf(w, "  other tags, not imgctl's (left as they are): %s\n", strings.Join(items, ", "))
}

// sizeList renders the compressed sizes in platform order.
func sizeList(ss []PlatformSize) string {
	if len(ss) == 0 {
		return "-"
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = changelog.HumanSize(s.Size)
	}
	return strings.Join(out, ",")
}

// coverage says which of a version's platforms carry an attestation:
// "yes" (all), "no" (none), or the platforms that do.
func coverage(have, all []string) string {
	switch {
	case len(have) == 0:
		return "no"
	case len(have) == len(all) || len(all) == 0:
		return "yes"
	}
	return strings.Join(have, ",")
}

func versionState(v Version) string {
	var parts []string
	if v.Latest {
		parts = append(parts, "latest")
	}
	if v.Deprecated {
		s := "deprecated, end of life " + v.EndOfLife
		if v.SupersededBy != "" {
			s += ", superseded by " + v.SupersededBy
		} else if v.Reason != "" {
			s += ", " + v.Reason
		}
		if v.Replacement != "" {
			s += ", replacement " + v.Replacement
		}
		parts = append(parts, s)
	}
	if v.Prune != "" {
		parts = append(parts, "next prune deletes it (unless in use): "+v.Prune)
	}
	if len(parts) == 0 {
		return "current"
	}
	return strings.Join(parts, "; ")
}

func builtOn(b *BuiltOn) string {
	switch {
	case b == nil:
		return "-"
	case b.Version != "":
		return b.Image + "@" + b.Version
	default:
		return b.Ref + "@" + published.ShortDigest(b.Digest)
	}
}

func writeRows(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// WritePackages renders, per image, the package list of the version read
// with Options.Packages, grouped by ecosystem.
func (r *Report) WritePackages(w io.Writer) error {
	for i, im := range r.Images {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var v *Version
		for j := range im.Versions {
			if im.Versions[j].Packages != nil || im.Versions[j].PackagesMissing != "" {
				v = &im.Versions[j]
			}
		}
		switch {
		case v == nil:
			fmt.Fprintf(w, "%s: no latest version\n", im.Name)
			continue
		case v.PackagesMissing != "":
			fmt.Fprintf(w, "%s %s: packages unknown (%s)\n", im.Name, v.Version, v.PackagesMissing)
			continue
		}
		fmt.Fprintf(w, "%s %s (%s): %d packages\n", im.Name, v.Version, strings.Join(v.Platforms, ", "), len(v.Packages))
		if err := changelog.WritePackages(w, v.Packages); err != nil {
			return err
		}
		writeUnlocked(w, v)
	}
	return nil
}

// writeUnlocked lists what a locked version holds outside its lock, one
// package per line with its platforms.
func writeUnlocked(w io.Writer, v *Version) {
	if len(v.Unlocked) > 0 {
		on := map[string][]string{}
		var keys []string
		for _, u := range v.Unlocked {
			k := u.Ecosystem + " " + u.Name + "  " + u.Version
			if on[k] == nil {
				keys = append(keys, k)
			}
			on[k] = append(on[k], u.Platform)
		}
		fmt.Fprintf(w, "unlocked: a run: step installed them outside the lock (%d)\n", len(keys))
		for _, k := range keys {
			fmt.Fprintf(w, "  %s  %s\n", k, strings.Join(on[k], ", "))
		}
	}
	for _, u := range v.UnlockedUnknown {
		fmt.Fprintf(w, "unlocked packages unknown on %s\n", u)
	}
}

// SetPrune records, on the versions it names, why the next imgctl prune
// would delete them: deletions maps repository to version to reason.
func (r *Report) SetPrune(deletions map[string]map[string]string) {
	for i := range r.Images {
		im := &r.Images[i]
		for j := range im.Versions {
			im.Versions[j].Prune = deletions[im.Repository][im.Versions[j].Version]
		}
	}
}
