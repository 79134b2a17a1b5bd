package retention

// FormatVersion versions the JSON form of a Plan (docs/prune-format.md).
const FormatVersion = "1"

// Action is what prune does with a version.
type Action string

// The actions.
const (
	Keep   Action = "keep"
	Delete Action = "delete"
)

// Kind is why a version is kept or deleted.
type Kind string

// The reasons. The first ones protect a version whatever else holds.
const (
	// NoPolicy: policy.retention is not set; nothing is deleted.
	NoPolicy Kind = "no-policy"
	// Latest: the latest tag points at it.
	Latest Kind = "latest"
	// Moving: one of the spec's moving tags points at it.
	Moving Kind = "moving-tag"
	// ForeignTag: a tag imgctl did not write points at its digest;
	// deleting the manifest would take that tag along.
	ForeignTag Kind = "foreign-tag"
	// Newest: one of the keepNewest newest dated versions.
	Newest Kind = "newest"
	// Pinned: a spec pins it (parent: "x@VERSION").
	Pinned Kind = "pinned"
	// InUse: an --in-use file names it.
	InUse Kind = "in-use"
	// Base: a kept version was built from it.
	Base Kind = "base"
	// SharedDigest: another dated tag of the same digest is kept.
	SharedDigest Kind = "shared-digest"
	// NotDeprecated: it has no end of life (no lifecycle marker).
	NotDeprecated Kind = "not-deprecated"
	// InGrace: its end of life plus afterEndOfLifeDays is not reached.
	InGrace Kind = "in-grace"
	// Expired: past its end of life by afterEndOfLifeDays: deleted.
	Expired Kind = "expired"
	// Interrupted: a prune that was interrupted had started deleting it
	// (its tombstone is in the registry): deleted.
	Interrupted Kind = "interrupted"
)

// Reason is one reason for a decision.
type Reason struct {
	Kind Kind `json:"kind"`
	// Detail says it for people: "in use (pods.json: team/nb-0)".
	Detail string `json:"detail"`
	// Position is the spec position behind it (a pin), file:line:col.
	Position string `json:"position,omitempty"`
}

// Policy is the retention policy a plan was computed with.
type Policy struct {
	AfterEndOfLifeDays int `json:"after_end_of_life_days"`
	KeepNewest         int `json:"keep_newest"`
	// Position is where policy.retention is set, file:line:col.
	Position string `json:"position,omitempty"`
}

// Plan is what a prune deletes and keeps, per image.
type Plan struct {
	FormatVersion string `json:"format_version"`
	Registry      string `json:"registry"`
	// Date is the day the plan is judged on, YYYY-MM-DD.
	Date string `json:"date"`
	// Policy is nil when policy.retention is not set.
	Policy *Policy `json:"policy"`
	// InUse are the --in-use files read, with how many references each
	// gave.
	InUse   []InUseFile `json:"in_use,omitempty"`
	Images  []Image     `json:"images"`
	Summary Summary     `json:"summary"`
}

// InUseFile is one --in-use file.
type InUseFile struct {
	File string `json:"file"`
	// Format: "pods" (a Kubernetes pod list), "launcher" (an imgctl
	// launcher output) or "lines".
	Format     string `json:"format"`
	References int    `json:"references"`
}

// Image is one image's versions, newest first.
type Image struct {
	Name       string    `json:"name"`
	Repository string    `json:"repository"`
	Versions   []Version `json:"versions"`
	// Unfinished are interrupted prunes of versions whose index is gone
	// already: what is left of them (referrers, the tombstone) is deleted.
	Unfinished []Unfinished `json:"unfinished,omitempty"`
}

// Version is one dated version and its decision.
type Version struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// EndOfLife is from its lifecycle marker, when deprecated.
	EndOfLife string   `json:"end_of_life,omitempty"`
	Action    Action   `json:"action"`
	Reasons   []Reason `json:"reasons"`
	// Delete is what goes, for a deletion.
	Delete *Deletion `json:"delete,omitempty"`
}

// Deletion is what deleting one version removes, besides every referrer
// of those manifests (lifecycle markers, signatures, attestations, the
// OCI fallback indexes), which prune finds when it applies the plan.
type Deletion struct {
	// Tags are the tags that go with the index, in the order they are
	// deleted: its -deprecated tag, then the version's own tag last.
	Tags []string `json:"tags"`
	// Manifests are the platform and attestation manifests to delete,
	// then the index (last).
	Manifests []Manifest `json:"manifests"`
	// Shared are manifests of the index that a kept version names too:
	// they stay.
	Shared []Manifest `json:"shared,omitempty"`
}

// ManifestKind is what a manifest of a version is.
type ManifestKind string

// The manifest kinds.
const (
	IndexManifest       ManifestKind = "index"
	PlatformManifest    ManifestKind = "platform"
	AttestationManifest ManifestKind = "attestation"
)

// Manifest is one manifest a deletion removes.
type Manifest struct {
	Digest   string       `json:"digest"`
	Kind     ManifestKind `json:"kind"`
	Platform string       `json:"platform,omitempty"`
}

// Unfinished is the rest of an interrupted prune of a version whose index
// is already deleted.
type Unfinished struct {
	// Digest is the deleted index's.
	Digest string `json:"digest"`
	// Tombstone is the tag that recorded the prune.
	Tombstone string `json:"tombstone"`
}

// Summary counts the plan.
type Summary struct {
	Delete int `json:"delete"`
	Keep   int `json:"keep"`
	// Manifests counts the manifests the deletions remove (referrers
	// not included).
	Manifests  int `json:"manifests"`
	Unfinished int `json:"unfinished"`
}

// HasChanges reports whether applying the plan deletes anything.
func (p *Plan) HasChanges() bool { return p.Summary.Delete > 0 || p.Summary.Unfinished > 0 }
