package sizebudget

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/plan"
)

// Reader reads a published version (inventory.Reader).
type Reader interface {
	Read(ctx context.Context, ref name.Digest, o inventory.Options) (*inventory.Version, error)
}

var _ Reader = inventory.Reader{}

// Gate judges each new version a publish builds against the budget its
// plan step records.
type Gate struct {
	Reader Reader
}

// Check judges the version st built, pushed as digest, against
// st.SizeBudget and the version it supersedes (st.Previous). It returns
// the verdict (nil when the step has no budget) and, when the version is
// over budget and not let through, an *OverBudgetError. Only a version
// over budget has its SBOMs read.
func (g *Gate) Check(ctx context.Context, st plan.ImageStep, digest string) (*Verdict, error) {
	if st.SizeBudget == nil {
		return nil, nil
	}
	repo, err := name.NewRepository(st.Repository, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", st.Repository, err)
	}
	read := func(dg string, pkgs bool) (*inventory.Version, error) {
		return g.Reader.Read(ctx, repo.Digest(dg), inventory.Options{Packages: pkgs})
	}
	cur, err := read(digest, false)
	if err != nil {
		return nil, err
	}
	in := Input{Image: st.Name, Version: st.Version, Budget: *st.SizeBudget, New: platformsOf(cur)}
	var old *inventory.Version
	if st.Previous != nil {
		if old, err = read(st.Previous.Digest, false); err != nil {
			return nil, fmt.Errorf("reading the superseded version %s: %w", st.Previous.Tag, err)
		}
		in.Previous, in.Old = st.Previous.Tag, platformsOf(old)
	}
	v := Judge(in)
	if !v.Over() {
		return v, nil
	}
	if cur, err = read(digest, true); err != nil {
		return nil, err
	}
	var from []inventory.Package
	switch {
	case !cur.HasPackages():
		v.NoLargest = "the new version has no SBOM"
	case old != nil:
		if old, err = read(st.Previous.Digest, true); err != nil {
			return nil, fmt.Errorf("reading the superseded version %s: %w", st.Previous.Tag, err)
		}
		if !old.HasPackages() {
			v.NoLargest = "the superseded version " + st.Previous.Tag + " has no SBOM"
		}
		from = old.Packages()
	}
	if v.NoLargest == "" {
		v.Largest = changelog.LargestGrowth(from, cur.Packages(), LargestN)
		if old == nil && v.Largest.Sized == changelog.SizedNewOnly {
			v.Largest.Sized = changelog.SizedBoth // nothing to grow from: sizes are complete
		}
	}
	if v.Budget.AllowGrowth {
		return v, nil
	}
	return v, &OverBudgetError{Verdict: v}
}

func platformsOf(v *inventory.Version) []Platform {
	out := make([]Platform, 0, len(v.Platforms))
	for _, p := range v.Platforms {
		out = append(out, Platform{Platform: p.Platform, Size: p.Size})
	}
	return out
}

// CheckSize is Check as publish.SizeGate wants it: the message of a
// version let through over budget, "" when within budget.
func (g *Gate) CheckSize(ctx context.Context, st plan.ImageStep, digest string) (string, error) {
	v, err := g.Check(ctx, st, digest)
	if err != nil || v == nil || !v.Overridden() {
		return "", err
	}
	return v.Message(), nil
}
