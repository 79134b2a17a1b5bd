package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imgctl/imgctl/pkg/graph"
	"github.com/imgctl/imgctl/pkg/lock"
)

// Pos is a position in a spec file. Filename is absolute.
type Pos struct {
	Filename string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

// IsValid reports whether the position names a file.
func (p Pos) IsValid() bool { return p.Filename != "" }

// String renders the position as file:line:col.
func (p Pos) String() string {
	if !p.IsValid() {
		return "-"
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}

// RelativeTo returns the position with its filename relative to dir, when
// the file lies below dir.
func (p Pos) RelativeTo(dir string) Pos {
	if !p.IsValid() {
		return p
	}
	if rel, err := filepath.Rel(dir, p.Filename); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		p.Filename = rel
	}
	return p
}

// Library is a loaded, checked image library.
type Library struct {
	// Dir is the absolute directory of the spec package; file sources are
	// relative to it.
	Dir string
	// Registry is where images are published: host[:port]/prefix.
	Registry    string
	RegistryPos Pos
	Policy      Policy
	// Images holds every image, sorted by name.
	Images []*Image
	// Sizes are the size presets, by name (SortedSizes orders them).
	Sizes map[string]*Size

	byName   map[string]*Image
	declared map[string]bool // every image name, also those that failed to decode
}

// Image returns the image called name, or nil.
func (l *Library) Image(name string) *Image { return l.byName[name] }

// Names returns the image names in sorted order.
func (l *Library) Names() []string {
	out := make([]string, len(l.Images))
	for i, im := range l.Images {
		out[i] = im.Name
	}
	return out
}

func (l *Library) index() {
	sort.Slice(l.Images, func(i, j int) bool { return l.Images[i].Name < l.Images[j].Name })
	l.byName = make(map[string]*Image, len(l.Images))
	for _, im := range l.Images {
		l.byName[im.Name] = im
	}
}

// Policy says how superseded versions are retired, and where images say
// they come from and their build cache lives.
type Policy struct {
	// GraceDays is the time from supersession to end of life.
	GraceDays int `json:"graceDays"`
	// RefreshDays is the age of its newest version at which an unchanged
	// image is rebuilt with its package-install steps run again; 0 is off.
	RefreshDays int `json:"refreshDays,omitempty"`
	// RefreshDaysPos is where RefreshDays is set; invalid when it is unset.
	RefreshDaysPos Pos `json:"-"`
	// DeprecatedTag adds "<version>-deprecated" tags to superseded versions.
	DeprecatedTag bool `json:"deprecatedTag"`
	// Source is the URL of the spec repository (https://…, ssh://… or
	// git@host:path), recorded on every image as
	// org.opencontainers.image.source; "" when unset.
	Source string `json:"source,omitempty"`
	// SourcePos is where Source is set; invalid when it is unset.
	SourcePos Pos `json:"-"`
	// CacheRepo is the repository prefix host[:port]/path where the registry
	// build cache lives; "" when unset.
	CacheRepo string `json:"cacheRepo,omitempty"`
	// CacheRepoPos is where CacheRepo is set; invalid when it is unset.
	CacheRepoPos Pos `json:"-"`
	// Mirror is the repository prefix HOST[:PORT]/PREFIX external bases
	// are copied to (PREFIX/<upstream repository path>@<digest>) and built
	// from; "" when unset (off). Not part of any content key: the copy
	// has the upstream's digest.
	Mirror string `json:"mirror,omitempty"`
	// MirrorPos is where Mirror is set; invalid when it is unset.
	MirrorPos Pos `json:"-"`
	// Platforms are the platforms of every root image (external from: or
	// scratch) that sets none, normalised and sorted like Image.Platforms;
	// nil when unset (roots then get DefaultPlatforms).
	Platforms []string `json:"platforms,omitempty"`
	// PlatformsPos is where Platforms is set; invalid when it is unset.
	PlatformsPos Pos `json:"-"`
	// SBOM attaches an SPDX SBOM attestation to every platform built.
	SBOM bool `json:"sbom"`
	// SBOMScanner is the scanner image reference the SBOMs are made with;
	// "" is imgctl's own scanner.
	SBOMScanner string `json:"sbomScanner,omitempty"`
	// SBOMScannerPos is where SBOMScanner is set; invalid when it is unset.
	SBOMScannerPos Pos `json:"-"`
	// Provenance is the SLSA provenance mode: ProvenanceMin,
	// ProvenanceMax, or "" for none.
	Provenance string `json:"provenance,omitempty"`
	// ProvenancePos is where Provenance is set; invalid when it is unset.
	ProvenancePos Pos `json:"-"`
	// Sign makes signing mandatory: publish refuses to start without a key.
	Sign bool `json:"sign,omitempty"`
	// SignPos is where Sign is set; invalid when it is unset.
	SignPos Pos `json:"-"`
	// SignKeyEnv is the environment variable naming the cosign key file.
	SignKeyEnv string `json:"signKeyEnv"`
	// Lock is LockOptional or LockRequired: whether validate, plan and
	// publish refuse an image without a current lock.
	Lock string `json:"lock"`
	// LockPos is where Lock is set; invalid when it is unset.
	LockPos Pos `json:"-"`
	// VulnDB is the OCI artifact of the vulnerability feed
	// (host[:port]/repo:tag); "" when unset.
	VulnDB string `json:"vulnDB,omitempty"`
	// VulnDBPos is where VulnDB is set; invalid when it is unset.
	VulnDBPos Pos `json:"-"`
	// Vulnerabilities is the publish gate and the accepted risks.
	Vulnerabilities Vulnerabilities `json:"vulnerabilities"`
	// Retention is policy.retention; nil when unset: imgctl prune then
	// deletes nothing.
	Retention *Retention `json:"retention,omitempty"`
	// NodePools are the cluster's node shapes, by name.
	NodePools map[string]*NodePool `json:"nodePools,omitempty"`
	// MaxGrowth is policy.maxGrowth as written ("10%"), "" when unset:
	// how much a new version of any image that sets no maxGrowth may grow
	// over the version it supersedes, per platform (see budget.go).
	MaxGrowth string `json:"maxGrowth,omitempty"`
	// MaxGrowthPos is where MaxGrowth is set; invalid when it is unset.
	MaxGrowthPos Pos `json:"-"`
}

// Vulnerabilities is policy.vulnerabilities.
type Vulnerabilities struct {
	// Fail is the lowest severity that fails a new version (Critical,
	// High, Medium, Low); "" is no gate.
	Fail string `json:"fail,omitempty"`
	// FailPos is where Fail is set; invalid when it is unset.
	FailPos Pos  `json:"-"`
	Fixable bool `json:"fixable,omitempty"`
	// Ignore are the accepted risks, in spec order.
	Ignore []VulnIgnore `json:"ignore,omitempty"`
}

// The severities of policy.vulnerabilities.fail, lowest first.
var Severities = []string{"low", "medium", "high", "critical"}

// VulnIgnore is one accepted risk.
type VulnIgnore struct {
	ID string `json:"id"`
	// Images are the images it applies to; nil is every image.
	Images []string `json:"images,omitempty"`
	Reason string   `json:"reason"`
	// Until is the last day it applies (YYYY-MM-DD).
	Until string `json:"until"`
	// Pos is where the entry is.
	Pos Pos `json:"-"`
}

// Applies reports whether ig covers a finding known by ids (its id and
// aliases: GHSA-…, CVE-…) in image on day (YYYY-MM-DD): an entry stops
// applying the day after Until.
func (ig VulnIgnore) Applies(ids []string, image, day string) bool {
	if day > ig.Until || len(ig.Images) > 0 && !slices.Contains(ig.Images, image) {
		return false
	}
	return slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, ig.ID) })
}

// Lock policies (Policy.Lock).
const (
	LockOptional = "optional"
	LockRequired = "required"
)

// Provenance modes (Policy.Provenance).
const (
	ProvenanceMin = "min"
	ProvenanceMax = "max"
)

// DefaultSignKeyEnv is the environment variable that names the signing
// key file when policy.signKeyEnv is unset.
const DefaultSignKeyEnv = "IMGCTL_SIGN_KEY"

// Retention is policy.retention: which versions imgctl prune deletes.
type Retention struct {
	// AfterEndOfLifeDays is how long a version stays after its end of life.
	AfterEndOfLifeDays int `json:"afterEndOfLifeDays"`
	// KeepNewest is how many of an image's newest dated versions are kept.
	KeepNewest int `json:"keepNewest"`
	// Pos is where retention is set.
	Pos Pos `json:"-"`
}

// The defaults of the fields of policy.retention.
const (
	DefaultAfterEndOfLifeDays = 90
	DefaultKeepNewest         = 5
)

// DefaultPolicy is the policy of a library that does not set one.
var DefaultPolicy = Policy{GraceDays: 30, DeprecatedTag: true, SBOM: true, Provenance: ProvenanceMin, SignKeyEnv: DefaultSignKeyEnv, Lock: LockOptional}

// Image is the spec of one image. Slices and maps are never nil-vs-empty
// sensitive: the content key treats both the same.
type Image struct {
	Name string `json:"-"`
	// Pos is where the image is declared.
	Pos Pos `json:"-"`
	// FieldPos is where each set field is declared, keyed by its CUE name.
	FieldPos map[string]Pos `json:"-"`

	From   string `json:"from,omitempty"`
	Parent string `json:"parent,omitempty"`
	// ParentVersion is the pinned version of Parent ("2026.11.01"), or "".
	ParentVersion string `json:"parentVersion,omitempty"`

	Description string `json:"description,omitempty"`
	Team        string `json:"team,omitempty"`
	Family      string `json:"family,omitempty"`

	// Rootfs is the single form of rootfs: one archive, relative to the
	// spec directory, unpacked at "/" for every platform. Use RootfsFor to
	// read either form.
	Rootfs string `json:"rootfs,omitempty"`
	// RootfsDigest is "sha256:<hex>" of the Rootfs file, computed at load.
	RootfsDigest string `json:"-"`
	// RootfsByPlatform is the map form of rootfs, `rootfs: {"linux/amd64":
	// "…", "linux/arm64": "…"}`: one archive per platform, keyed by the
	// normalised platform. Load checks that its keys are exactly the
	// image's Platforms. Unlike RootfsDigest, each entry's digest is part of
	// the JSON form, so the content key covers the archives' contents.
	// Rootfs and RootfsByPlatform are never both set.
	RootfsByPlatform map[string]RootfsFile `json:"rootfsByPlatform,omitempty"`
	Apt              []string              `json:"apt,omitempty"`
	AptRecommends    bool                  `json:"aptRecommends,omitempty"`
	Pip              *Pip                  `json:"pip,omitempty"`
	R                *R                    `json:"r,omitempty"`
	Run              []string              `json:"run,omitempty"`
	Files            []File                `json:"files,omitempty"`
	Env              map[string]string     `json:"env,omitempty"`
	User             string                `json:"user,omitempty"`
	Workdir          string                `json:"workdir,omitempty"`
	Entrypoint       []string              `json:"entrypoint,omitempty"`
	Cmd              []string              `json:"cmd,omitempty"`
	Ports            []int                 `json:"ports,omitempty"`
	Labels           map[string]string     `json:"labels,omitempty"`
	// Test are shell commands that must succeed inside every built
	// version before a tag moves to it. Not part of the content key.
	Test []string `json:"test,omitempty"`
	// Platforms is the effective list of platforms, never empty after
	// Load: as written, or else inherited from the parent image (also a
	// pinned one: its spec's platforms), or for a root (external from: or
	// scratch) Policy.Platforms, else DefaultPlatforms. Entries are
	// normalised ("linux/arm64/v8" is stored as "linux/arm64", "linux/arm"
	// as "linux/arm/v7") and sorted, so the content key does not depend on
	// the written order or spelling.
	Platforms []string `json:"platforms,omitempty"`
	// PlatformsInherited reports that the image does not set platforms:
	// Platforms came from its parent, the policy or the default. It is not
	// part of the content key; the effective Platforms are.
	PlatformsInherited bool     `json:"-"`
	Tags               []string `json:"tags,omitempty"`
	// Sizes name the size presets sessions of the image may use, the
	// first the default (Library.SizesOf). Not part of the content key.
	Sizes []string `json:"sizes,omitempty"`
	// Server is the session server the image starts as written ("" when
	// unset; Library.ServerOf resolves it). Not part of the content key.
	Server     string       `json:"server,omitempty"`
	Deprecated *Deprecation `json:"deprecated,omitempty"`
	// VersionTags maps a tag prefix to a locked package ("python3",
	// "pip:pandas", "r:ggplot2"): each adds the moving tag
	// "<prefix>-<version>" (LockTags).
	VersionTags map[string]string `json:"versionTags,omitempty"`
	// LockTags are the moving tags VersionTags make from the locks,
	// sorted; worked out with the locks (nil without a current lock).
	LockTags []string `json:"-"`
	// LockTagErr says why VersionTags could not be worked out, "" when
	// they were.
	LockTagErr string `json:"-"`

	// Lock is the image's lock (locks/NAME.lock.json below the spec
	// directory), nil when there is none. A lock that is not current
	// (LockStale) is still loaded: `imgctl lock` reads it to keep its
	// pins.
	Lock *lock.Lock `json:"-"`
	// LockFile is the lock's path, whether or not it exists.
	LockFile string `json:"-"`
	// LockInputs is what the image's resolution depends on; its digest
	// is what a current lock records.
	LockInputs lock.Inputs `json:"-"`
	// LockStale says why Lock is not current ("" when it is, or when
	// there is no lock).
	LockStale string `json:"-"`

	// MaxSize and MaxGrowth are the image's size budget as written
	// ("2GiB", "10%"; "" when unset): Library.BudgetOf resolves them. Not
	// part of the content key and not inherited by children.
	MaxSize   string `json:"maxSize,omitempty"`
	MaxGrowth string `json:"maxGrowth,omitempty"`
}

// Locked reports whether im has a current lock: a build installs exactly
// what it lists.
func (im *Image) Locked() bool { return im.Lock != nil && im.LockStale == "" }

// RootfsFile is the archive of one platform in the map form of rootfs.
type RootfsFile struct {
	// Src is relative to the spec directory.
	Src string `json:"src"`
	// Digest is "sha256:<hex>" of the file's bytes, computed at load.
	Digest string `json:"digest"`
	// Pos is where the entry is set.
	Pos Pos `json:"-"`
}

// Pip is a pip install step.
type Pip struct {
	Packages       []string `json:"packages"`
	Index          string   `json:"index,omitempty"`
	CredentialsEnv string   `json:"credentialsEnv,omitempty"`
}

// R is an R package install step.
type R struct {
	Packages []string `json:"packages"`
	Repo     string   `json:"repo,omitempty"`
}

// File is a file copied from the spec directory into the image.
type File struct {
	Src    string `json:"src"`
	Dest   string `json:"dest"`
	Mode   int    `json:"mode"`
	SHA256 string `json:"sha256,omitempty"`
	// Digest is "sha256:<hex>" of the file's bytes, computed at load.
	Digest string `json:"-"`
	Pos    Pos    `json:"-"`
}

// Deprecation retires an image.
type Deprecation struct {
	Reason      string `json:"reason"`
	Replacement string `json:"replacement,omitempty"`
}

// IsExternal reports whether the image is built from an external base.
func (im *Image) IsExternal() bool { return im.Parent == "" }

// HasRootfs reports whether the image unpacks a rootfs archive, in either
// form.
func (im *Image) HasRootfs() bool { return im.Rootfs != "" || len(im.RootfsByPlatform) > 0 }

// RootfsFor returns the rootfs archive of platform, as src relative to the
// spec directory and its "sha256:<hex>" digest: the single archive whatever
// the platform, or the platform's entry of the map form. platform is
// normalised first, so "linux/arm64/v8" finds "linux/arm64". ok is false
// when the image has no rootfs for platform (or no rootfs at all).
func (im *Image) RootfsFor(platform string) (src, digest string, ok bool) {
	if im.Rootfs != "" {
		return im.Rootfs, im.RootfsDigest, true
	}
	if len(im.RootfsByPlatform) == 0 {
		return "", "", false
	}
	if n, err := NormalizePlatform(platform); err == nil {
		platform = n
	}
	f, ok := im.RootfsByPlatform[platform]
	return f.Src, f.Digest, ok
}

// PosOf returns the position of field, or of the image when the field is unset.
func (im *Image) PosOf(field string) Pos {
	if p, ok := im.FieldPos[field]; ok {
		return p
	}
	return im.Pos
}

// InstallsPackages says whether im has package-install steps (apt, pip,
// r): what a refresh runs again. Decided here, once, for every package.
func (im *Image) InstallsPackages() bool {
	return len(im.Apt) > 0 || im.Pip != nil && len(im.Pip.Packages) > 0 || im.R != nil && len(im.R.Packages) > 0
}

// DefaultPlatforms are the platforms of a root image that sets none when
// the policy sets none either.
var DefaultPlatforms = []string{"linux/amd64"}

// DefaultFileMode is the mode of a file that sets none.
const DefaultFileMode = 0o644

// Graph returns the library's dependency graph: each image's parent is its
// in-library parent, or its external base (a root).
func (l *Library) Graph() *graph.Graph {
	parents := make(map[string]string, len(l.Images))
	for _, im := range l.Images {
		if im.IsExternal() {
			parents[im.Name] = im.From
		} else {
			parents[im.Name] = im.Parent
		}
	}
	return graph.New(parents)
}

// IgnoreWarnings says which accepted risks expire within a week of day or
// have expired (findings of an expired entry are no longer ignored), each
// with the entry's position.
func (v Vulnerabilities) IgnoreWarnings(day time.Time) []Error {
	var out []Error
	today := day.UTC().Format("2006-01-02")
	for i, ig := range v.Ignore {
		until, err := time.Parse("2006-01-02", ig.Until)
		if err != nil {
			continue // validate reports it
		}
		left := int(until.Sub(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
		switch {
		case today > ig.Until:
			out = append(out, Error{Pos: ig.Pos, Msg: fmt.Sprintf("policy.vulnerabilities.ignore[%d]: %s expired on %s: its findings are no longer ignored", i, ig.ID, ig.Until)})
		case left <= 7:
			out = append(out, Error{Pos: ig.Pos, Msg: fmt.Sprintf("policy.vulnerabilities.ignore[%d]: %s expires on %s (in %d %s): fix the images or renew it with a reason", i, ig.ID, ig.Until, left, plural(left, "day", "days"))})
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
