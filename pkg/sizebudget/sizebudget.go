package sizebudget

import (
	"fmt"
	"strings"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/plan"
)

// LargestN is how many of the largest packages added or grown a message
// names.
const LargestN = 10

// Platform is one platform's compressed size: the config and layers its
// manifest references, what a pull downloads.
type Platform struct {
	Platform string `json:"platform"`
	Size     int64  `json:"size"`
}

// Input is what Judge judges.
type Input struct {
	Image, Version string
	Budget         plan.SizeBudget
	// New are the new version's platforms; Old the superseded version's
	// (nil for a first version), Previous its tag ("" for none).
	New      []Platform
	Previous string
	Old      []Platform
	// Parent is the image's parent in the library ("" for a root);
	// NewBase and OldBase the sizes of the parent versions the new and
	// the superseded version were built on (nil when unknown or the
	// same). Growth the parent brought is the parent's budget's business,
	// not the child's: it is left out of the child's maxGrowth.
	Parent           string
	NewBase, OldBase []Platform
}

// PlatformVerdict is one platform judged.
type PlatformVerdict struct {
	Platform string `json:"platform"`
	Size     int64  `json:"size"`
	// Previous is the superseded version's size of the platform (0: it
	// had none); Growth the change in percent, nil without a previous.
	Previous int64    `json:"previous,omitempty"`
	Growth   *float64 `json:"growth_percent,omitempty"`
	// FromParent is how much of the growth (bytes) the parent brought:
	// its new version's size minus the one the superseded version was
	// built on; OwnGrowth is the rest, in percent of Previous, what
	// maxGrowth judges.
	FromParent    int64    `json:"from_parent,omitempty"`
	OwnGrowth     *float64 `json:"own_growth_percent,omitempty"`
	OverMaxSize   bool     `json:"over_max_size,omitempty"`
	OverMaxGrowth bool     `json:"over_max_growth,omitempty"`
}

// Over says the platform is over budget.
func (p PlatformVerdict) Over() bool { return p.OverMaxSize || p.OverMaxGrowth }

// Verdict is a new version judged against its budget.
type Verdict struct {
	Image     string            `json:"image"`
	Version   string            `json:"version"`
	Previous  string            `json:"previous,omitempty"`
	Parent    string            `json:"parent,omitempty"`
	Budget    plan.SizeBudget   `json:"budget"`
	Platforms []PlatformVerdict `json:"platforms"`
	// Largest are the largest packages added or grown (set by Gate when
	// over budget); NoLargest says why they are unknown.
	Largest   *changelog.Growth `json:"largest,omitempty"`
	NoLargest string            `json:"no_largest,omitempty"`
}

// Over says some platform is over budget.
func (v *Verdict) Over() bool {
	for _, p := range v.Platforms {
		if p.Over() {
			return true
		}
	}
	return false
}

// Overridden says the version is over budget and let through
// (--allow-growth).
func (v *Verdict) Overridden() bool { return v.Over() && v.Budget.AllowGrowth }

// Judge judges in: a platform is over maxSize when its size exceeds it,
// and over maxGrowth when it grew by more than the percentage over the
// same platform of the superseded version (a platform new in this version
// has nothing to grow from), not counting what its parent's growth
// brought (the parent is judged by its own budget).
func Judge(in Input) *Verdict {
	v := &Verdict{Image: in.Image, Version: in.Version, Previous: in.Previous, Parent: in.Parent, Budget: in.Budget, Platforms: []PlatformVerdict{}}
	sizes := func(ps []Platform) map[string]int64 {
		m := map[string]int64{}
		for _, p := range ps {
			m[p.Platform] = p.Size
		}
		return m
	}
	old, newBase, oldBase := sizes(in.Old), sizes(in.NewBase), sizes(in.OldBase)
	for _, p := range in.New {
		pv := PlatformVerdict{Platform: p.Platform, Size: p.Size, Previous: old[p.Platform]}
		if b := in.Budget.MaxSizeBytes; in.Budget.MaxSize != "" && p.Size > b {
			pv.OverMaxSize = true
		}
		if pv.Previous > 0 {
			g := float64(p.Size-pv.Previous) * 100 / float64(pv.Previous)
			pv.Growth = &g
			nb, okN := newBase[p.Platform]
			ob, okO := oldBase[p.Platform]
			if okN && okO {
				pv.FromParent = nb - ob
			}
			own := float64(p.Size-pv.Previous-pv.FromParent) * 100 / float64(pv.Previous)
			pv.OwnGrowth = &own
			if pc := in.Budget.MaxGrowthPercent; in.Budget.MaxGrowth != "" && pc != nil && own > *pc {
				pv.OverMaxGrowth = true
			}
		}
		v.Platforms = append(v.Platforms, pv)
	}
	return v
}

// Message renders v for a person: each platform over budget with its
// sizes, the largest packages added or grown, and what to do. It is the
// error text of a version over budget and the note of an overridden one.
func (v *Verdict) Message() string {
	return fmt.Sprintf("%s %s is %s", v.Image, v.Version, v.body())
}

// body is the message without its subject.
func (v *Verdict) body() string {
	var b strings.Builder
	switch {
	case v.Overridden():
		fmt.Fprintf(&b, "over its size budget (compressed, per platform); published anyway (--allow-growth %s):\n", v.Image)
	default:
		b.WriteString("over its size budget (compressed, per platform):\n")
	}
	for _, p := range v.Platforms {
		if p.OverMaxSize {
			fmt.Fprintf(&b, "  %s: %s, over maxSize %s by %s\n", p.Platform, changelog.HumanSize(p.Size), v.Budget.MaxSize, changelog.HumanSize(p.Size-v.Budget.MaxSizeBytes))
		}
		if p.OverMaxGrowth && p.FromParent != 0 {
			fmt.Fprintf(&b, "  %s: %s, %+.1f%% over %s (%s), %+.1f%% without the %s its parent %s brought, over maxGrowth %s\n", p.Platform, changelog.HumanSize(p.Size), *p.Growth, v.Previous, changelog.HumanSize(p.Previous), *p.OwnGrowth, signed(p.FromParent), v.Parent, v.Budget.MaxGrowth)
		} else if p.OverMaxGrowth {
			fmt.Fprintf(&b, "  %s: %s, %+.1f%% over %s (%s), over maxGrowth %s\n", p.Platform, changelog.HumanSize(p.Size), *p.Growth, v.Previous, changelog.HumanSize(p.Previous), v.Budget.MaxGrowth)
		}
	}
	switch {
	case v.Largest != nil && v.Previous == "":
		b.WriteString("largest packages (a first version: every package is added):\n")
	case v.Largest != nil:
		fmt.Fprintf(&b, "largest packages added or grown since %s (installed size):\n", v.Previous)
	}
	if v.Largest != nil {
		for _, l := range v.Largest.Lines() {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	} else if v.NoLargest != "" {
		fmt.Fprintf(&b, "largest packages added: unknown (%s)\n", v.NoLargest)
	}
	if v.Overridden() {
		b.WriteString("the budget applies again from the next version on")
	} else {
		fmt.Fprintf(&b, "no tag moves to it; publish --allow-growth %s lets it through once", v.Image)
	}
	return b.String()
}

// OverBudgetError is a new version over its size budget and not let
// through: publish fails the image like a failed test.
type OverBudgetError struct{ Verdict *Verdict }

// Error is the message without its subject: publish names the image.
func (e *OverBudgetError) Error() string { return e.Verdict.body() }

func signed(n int64) string {
	if n < 0 {
		return "−" + changelog.HumanSize(-n)
	}
	return "+" + changelog.HumanSize(n)
}
