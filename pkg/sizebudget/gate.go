package sizebudget

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/published"
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
	var newBase *name.Digest // the parent version built on, when it changed
	if st.Base.Image != "" && old != nil {
		in.Parent = st.Base.Image
		nb, ob := cur.Annotations[published.AnnotationBaseDigest], old.Annotations[published.AnnotationBaseDigest]
		if nb != "" && ob != "" && nb != ob {
			baseRepo, err := name.NewRepository(st.Base.Ref, name.WeakValidation)
			if err != nil {
				return nil, fmt.Errorf("parsing the parent repository %q: %w", st.Base.Ref, err)
			}
			nbRef := baseRepo.Digest(nb)
			nbv, err := g.Reader.Read(ctx, nbRef, inventory.Options{})
			if err != nil {
				return nil, fmt.Errorf("reading the parent %s: %w", st.Base.Image, err)
			}
			oldBase, err := g.Reader.Read(ctx, baseRepo.Digest(ob), inventory.Options{})
			if err != nil {
				return nil, fmt.Errorf("reading the parent %s: %w", st.Base.Image, err)
			}
			in.NewBase, in.OldBase, newBase = platformsOf(nbv), platformsOf(oldBase), &nbRef
		}
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
		to := cur.Packages()
		if newBase != nil {
			// What the parent's new version brought is the parent's:
			// list what this image added beyond it.
			if nb, err := g.Reader.Read(ctx, *newBase, inventory.Options{Packages: true}); err == nil && nb.HasPackages() {
				to = withoutPackagesOf(to, nb.Packages())
			}
		}
		v.Largest = changelog.LargestGrowth(from, to, LargestN)
		if old == nil && v.Largest.Sized == changelog.SizedNewOnly {
			v.Largest.Sized = changelog.SizedBoth // nothing to grow from: sizes are complete
		}
	}
	if v.Budget.AllowGrowth {
		return v, nil
	}
	return v, &OverBudgetError{Verdict: v}
}

// withoutPackagesOf is ps without the packages base holds at the same
// version.
func withoutPackagesOf(ps, base []inventory.Package) []inventory.Package {
	type id struct{ eco, typ, name, version string }
	in := map[id]bool{}
	for _, p := range base {
		in[id{p.Ecosystem, p.Type, p.Name, p.Version}] = true
	}
	var out []inventory.Package
	for _, p := range ps {
		if !in[id{p.Ecosystem, p.Type, p.Name, p.Version}] {
			out = append(out, p)
		}
	}
	return out
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
