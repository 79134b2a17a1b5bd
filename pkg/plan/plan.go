package plan

import (
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// FormatVersion is the version of the JSON plan format (docs/plan-format.md).
const FormatVersion = "1"

// Action is the decision for one image.
type Action string

// The decisions.
const (
	// Build a new version of the image.
	Build Action = "build"
	// Skip: the newest published version matches the spec.
	Skip Action = "skip"
	// Retire: the spec declares the image deprecated; nothing is built.
	Retire Action = "retire"
	// Blocked: the image cannot be built (e.g. its pinned parent version
	// does not exist).
	Blocked Action = "blocked"
)

// Plan is everything a publish would do, and why.
type Plan struct {
	FormatVersion string `json:"format_version"`
	// Date is the publish date (UTC, YYYY-MM-DD) dated tags are made from.
	Date string `json:"date"`
	// Registry is the effective registry: host[:port]/prefix.
	Registry string `json:"registry"`
	// SpecDir is the spec directory the plan was computed from.
	SpecDir string `json:"spec_dir"`
	// Targets restricts the plan to these images and their ancestors.
	Targets      []string          `json:"targets,omitempty"`
	Images       []ImageStep       `json:"images"`
	Tags         []TagStep         `json:"tags"`
	Deprecations []DeprecationStep `json:"deprecations"`
	Warnings     []Warning         `json:"warnings"`
	// VulnerabilityGate is policy.vulnerabilities' gate, when it is set:
	// every version this plan builds is scanned before its tags move.
	VulnerabilityGate *VulnerabilityGate `json:"vulnerability_gate,omitempty"`
	// AllowGrowth are the images publish --allow-growth named, sorted:
	// each new version over its size budget is published anyway, once.
	AllowGrowth []string `json:"allow_growth,omitempty"`
	Summary     Summary  `json:"summary"`
}

// VulnerabilityGate says which findings fail a new version.
type VulnerabilityGate struct {
	// Fail is the lowest severity that fails (critical, high, medium, low).
	Fail string `json:"fail"`
	// Fixable: only findings with a fixed version fail.
	Fixable bool `json:"fixable"`
	// Ignored counts the accepted risks in force on the plan's date.
	Ignored int      `json:"ignored"`
	Pos     spec.Pos `json:"pos"`
}

// ImageStep is the decision for one image.
type ImageStep struct {
	Name       string   `json:"name"`
	Repository string   `json:"repository"`
	Action     Action   `json:"action"`
	Reasons    []Reason `json:"reasons"`
	// Version is the dated tag a build will publish, or the published
	// version a skip matches, or the current version of a retired image.
	Version string `json:"version,omitempty"`
	// Digest is the published digest a skip or retire refers to.
	Digest string `json:"digest,omitempty"`
	// ContentKey is the key the image will carry; empty for a build whose
	// parent is rebuilt in the same plan (known once the parent is pushed).
	ContentKey string `json:"content_key,omitempty"`
	// SpecKey digests the spec and files alone; publish --plan checks the
	// specs on disk still produce it.
	SpecKey string `json:"spec_key"`
	// Base says what the image is built from.
	Base Base `json:"base"`
	// Previous is the newest published version before this plan, if any.
	Previous *Version `json:"previous,omitempty"`
	// Refresh says the build runs the package-install steps again although
	// the spec did not change (policy.refreshDays, --refresh); Conditional
	// that it is built only if its parent's refresh publishes a new
	// version. Either way, when the packages come out the same as the
	// newest version's (SBOM), no version is published: no tag, no
	// deprecation.
	Refresh     bool `json:"refresh,omitempty"`
	Conditional bool `json:"conditional,omitempty"`
	// Tests are the spec's test commands a build runs inside the new
	// version, on every platform, before any tag moves.
	Tests []string `json:"tests,omitempty"`
	// SizeBudget is the size budget the new version is judged by before
	// any tag moves; nil when the image has none.
	SizeBudget *SizeBudget `json:"size_budget,omitempty"`
	// Foreign are tags of the repository that look like imgctl's (dated
	// versions, latest, the spec's moving tags) but whose manifests imgctl
	// did not write or that are gone: no step supersedes, marks or
	// retires them, and only latest and the moving tags are ever moved.
	Foreign []ForeignTag `json:"foreign,omitempty"`
	// LockChanges are the package changes between the lock the newest
	// version was built from and the image's lock, when its lock changed:
	// what the build will install differently, known before building.
	LockChanges []lock.Change `json:"lock_changes,omitempty"`
	// Unlocked are the packages the newest published version of a locked
	// image holds beyond its lock and its base (from their SBOMs): a run:
	// step installed them outside the lock. Listed, never fatal; read
	// when the registry can tell (UnlockedReader).
	Unlocked []lock.Unlocked `json:"unlocked,omitempty"`
	Pos      spec.Pos        `json:"pos"`
}

// ForeignTag is a tag imgctl did not write, as Observe found it (the
// vocabulary's published.ForeignTag).
type ForeignTag = published.ForeignTag

// The notes of a ForeignTag Observe records.
const (
	ForeignImage   = published.ForeignImage
	ForeignMissing = published.ForeignMissing
)

// Base is what an image is built FROM.
type Base struct {
	// Image is the parent image name in the library; empty for an external base.
	Image string `json:"image,omitempty"`
	// Version is the parent version used (pinned or newest published);
	// empty when the parent is rebuilt in this plan.
	Version string `json:"version,omitempty"`
	// RebuiltInPlan says the parent is built by this plan: the child is
	// built FROM the digest the parent is pushed as.
	RebuiltInPlan bool `json:"rebuilt_in_plan,omitempty"`
	// Ref is the external reference ("debian:12", "scratch") or the
	// parent repository.
	Ref string `json:"ref"`
	// Digest is the resolved digest ("" for scratch or a rebuilt parent).
	Digest string `json:"digest,omitempty"`
	// Mirror is the copy in policy.mirror the digest was resolved from
	// (PREFIX/<path>@<digest>) because upstream could not be read; the
	// plan warns. Empty when upstream answered.
	Mirror string `json:"mirror,omitempty"`
}

// Version is a published dated version.
type Version struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
}

// Reason explains a decision, pointing at the spec that caused it.
type Reason struct {
	Message string   `json:"message"`
	Pos     spec.Pos `json:"pos"`
}

// TagKind says what a tag step is for.
type TagKind string

// The tag kinds, in the order they are written.
const (
	TagDated  TagKind = "dated"
	TagLatest TagKind = "latest"
	TagMoving TagKind = "moving"
)

// TagStep points a tag at an image version.
type TagStep struct {
	Image      string  `json:"image"`
	Repository string  `json:"repository"`
	Tag        string  `json:"tag"`
	Kind       TagKind `json:"kind"`
	// Version is the dated version the tag will point at.
	Version string `json:"version"`
	// Digest is the target digest when already published; empty when it is
	// built by this plan.
	Digest string `json:"digest,omitempty"`
	// Observed is the digest the tag pointed at when the plan was made; ""
	// means absent. Publish refuses to move a tag that moved since.
	Observed string `json:"observed"`
	Reason   string `json:"reason"`
}

// DeprecationKind says why a version is deprecated.
type DeprecationKind string

// The deprecation kinds.
const (
	Superseded DeprecationKind = "superseded"
	Retired    DeprecationKind = "retired"
)

// DeprecationStep marks a published version deprecated in the registry.
type DeprecationStep struct {
	Image      string          `json:"image"`
	Repository string          `json:"repository"`
	Kind       DeprecationKind `json:"kind"`
	Version    string          `json:"version"`
	Digest     string          `json:"digest"`
	// SupersededBy is the version replacing it (empty when retired).
	SupersededBy string `json:"superseded_by,omitempty"`
	// Date is when it was superseded or retired (YYYY-MM-DD).
	Date string `json:"date"`
	// EndOfLife is Date plus the policy's grace period (YYYY-MM-DD).
	EndOfLife   string `json:"end_of_life"`
	Reason      string `json:"reason"`
	Replacement string `json:"replacement,omitempty"`
	// Tag is the "<version>-deprecated" tag to add, when the policy asks.
	Tag string `json:"tag,omitempty"`
}

// Warning is something a reviewer should see; it changes no decision.
type Warning struct {
	Image   string   `json:"image"`
	Message string   `json:"message"`
	Pos     spec.Pos `json:"pos"`
}

// Summary counts the plan's steps.
type Summary struct {
	Build     int `json:"build"`
	Unchanged int `json:"unchanged"`
	Retire    int `json:"retire"`
	Blocked   int `json:"blocked"`
	Tags      int `json:"tags"`
	Deprecate int `json:"deprecate"`
	// Tested counts the images built whose tests run before the tags.
	Tested int `json:"tested"`
	// Refresh counts the builds that publish only if packages changed.
	Refresh int `json:"refresh"`
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	return p.Summary.Build > 0 || p.Summary.Tags > 0 || p.Summary.Deprecate > 0
}

// Step returns the image step called name, or nil.
func (p *Plan) Step(name string) *ImageStep {
	for i := range p.Images {
		if p.Images[i].Name == name {
			return &p.Images[i]
		}
	}
	return nil
}
