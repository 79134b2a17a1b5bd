package resolve

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Prober runs probes on an image's build: *build.Client.
type Prober interface {
	Probe(ctx context.Context, req build.ProbeRequest, status chan *client.SolveStatus) ([][]byte, error)
}

// Request is one image to resolve.
type Request struct {
	Image *spec.Image
	// Chain is the image's in-library ancestors, root first, each with a
	// current lock (their builds install it); empty for a root or a
	// pinned parent.
	Chain   []*spec.Image
	SpecDir string
	// Base is the digest reference the chain's root (or the image) is
	// built from, or the pinned parent's version; "" for scratch.
	Base     string
	Insecure bool
	BaseRead func(ctx context.Context, repo name.Repository) ([]remote.Option, error)
	// Keep is the lock whose versions are kept where the spec still
	// needs them (`imgctl lock` without --upgrade); nil resolves to the
	// newest the sources serve.
	Keep *lock.Lock
	// Pinned are versions a pinned parent's published lock holds, as
	// constraints; nil when unknown.
	Pinned *lock.Lock
	// Secrets as in build.Request.
	Secrets map[string][]byte
}

// Resolve resolves req's image on every platform it builds for, at most
// platforms at once, and returns its lock.
func Resolve(ctx context.Context, p Prober, req Request, status chan *client.SolveStatus) (*lock.Lock, error) {
	im := req.Image
	plats, err := build.Platforms(im)
	if err != nil {
		return nil, err
	}
	l := &lock.Lock{FormatVersion: lock.FormatVersion, Image: im.Name, Inputs: im.LockInputs.Digest(), Parent: im.LockInputs.Parent, Platforms: map[string]*lock.Packages{}}
	results := make([]*lock.Packages, len(plats))
	eg, ctx := errgroup.WithContext(ctx)
	for i, plat := range plats {
		eg.Go(func() error {
			pf := platforms.Format(plat)
			pk, err := resolvePlatform(ctx, p, req, pf, status)
			if err != nil {
				return err
			}
			results[i] = pk
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	for i, plat := range plats {
		l.Platforms[platforms.Format(plat)] = results[i]
	}
	return l, nil
}

func resolvePlatform(ctx context.Context, p Prober, req Request, pf string, status chan *client.SolveStatus) (*lock.Packages, error) {
	im := req.Image
	out := &lock.Packages{}
	keep := req.Keep.For(pf)
	var probes []build.Probe
	var kinds []string
	if len(im.Apt) > 0 {
		probes = append(probes, build.Probe{Name: "lock apt", Script: aptProbe(im, keep)})
		kinds = append(kinds, lock.Apt)
	}
	if im.Pip != nil && len(im.Pip.Packages) > 0 {
		script, err := pipProbe(im, keep)
		if err != nil {
			return nil, err
		}
		pr := build.Probe{Name: "lock pip", Script: script}
		if im.Pip.CredentialsEnv != "" {
			pr.Secret, pr.SecretEnv = build.PipCredentialsSecret, build.PipCredentialsEnv
		}
		probes = append(probes, pr)
		kinds = append(kinds, lock.Pip)
	}
	if im.R != nil && len(im.R.Packages) > 0 {
		probes = append(probes, build.Probe{Name: "lock r", Script: rProbe(im)})
		kinds = append(kinds, lock.R)
	}
	if len(probes) == 0 {
		return out, nil
	}
	plat, err := platforms.Parse(pf)
	if err != nil {
		return nil, err
	}
	answers, err := p.Probe(ctx, build.ProbeRequest{
		Chain: req.Chain, Image: im, SpecDir: req.SpecDir, Base: req.Base, Insecure: req.Insecure,
		BaseRead: req.BaseRead, Platform: plat, Probes: probes, Secrets: req.Secrets,
	}, status)
	if err != nil {
		return nil, fmt.Errorf("resolving %s for %s: %w", im.Name, pf, err)
	}
	anc := ancestors(req, pf)
	for i, kind := range kinds {
		switch kind {
		case lock.Apt:
			d, err := lock.ParseApt(answers[i])
			if err != nil {
				return nil, fmt.Errorf("resolving %s for %s: %w", im.Name, pf, err)
			}
			for pkg, from := range d.Moved {
				if owner, v, ok := anc.apt(pkg); ok {
					to := ""
					for _, a := range d.Added {
						if a.Name == pkg {
							to = a.Version
						}
					}
					return nil, &ConflictError{Pos: im.PosOf("apt"), Image: im.Name, Field: "apt", Platform: pf, Package: pkg,
						Need: to, Pinned: v, Parent: owner, Requirement: requirement(im.Apt, pkg, func(s string) string { return s })}
				}
				_ = from
			}
			out.Apt = d.Added
		case lock.Pip:
			ds, err := lock.ParsePipReport(answers[i])
			if err != nil {
				return nil, fmt.Errorf("resolving %s for %s: %w", im.Name, pf, err)
			}
			for _, d := range ds {
				if owner, v, ok := anc.pip(d.Name); ok && v != d.Version {
					return nil, &ConflictError{Pos: im.PosOf("pip"), Image: im.Name, Field: "pip", Platform: pf, Package: d.Name,
						Need: d.Version, Pinned: v, Parent: owner, Requirement: requirement(im.Pip.Packages, d.Name, pipName)}
				}
			}
			out.Pip = ds
		case lock.R:
			ds, err := lock.ParseR(answers[i])
			if err != nil {
				return nil, fmt.Errorf("resolving %s for %s: %w", im.Name, pf, err)
			}
			out.R = keepR(ds, keep)
		}
	}
	out.Sort()
	return out, nil
}

// keepR keeps the locked entry of each R package still needed: CRAN-like
// repositories serve one version, so without --upgrade a pin stays until
// asked to move (its install fails, saying so, once it is not served).
func keepR(ds []lock.Dist, keep *lock.Packages) []lock.Dist {
	if keep == nil {
		return ds
	}
	old := map[string]lock.Dist{}
	for _, d := range keep.R {
		old[d.Name] = d
	}
	for i, d := range ds {
		if o, ok := old[d.Name]; ok {
			ds[i] = o
		}
	}
	return ds
}

// ConflictError is a child's resolution that would move a version one of
// its ancestors locked.
type ConflictError struct {
	Pos      spec.Pos
	Image    string
	Field    string // apt, pip, r
	Platform string
	Package  string
	// Need is the version the child's packages resolved to; Requirement
	// the spec entry naming the package, "" when a dependency needs it.
	Need, Requirement string
	// Parent is the ancestor whose lock pinned Pinned.
	Parent, Pinned string
}

func (e *ConflictError) Error() string {
	need := "a dependency of its " + e.Field + " packages needs " + e.Package + " " + e.Need
	if e.Requirement != "" {
		need = "it asks for " + e.Requirement + " (resolved to " + e.Package + " " + e.Need + ")"
	}
	if e.Need == "" {
		need = "its " + e.Field + " packages need another version of " + e.Package
	}
	fix := fmt.Sprintf("upgrade %s's lock (imgctl lock --upgrade %s)", e.Parent, e.Parent)
	if name, version, pinned := strings.Cut(e.Parent, "@"); pinned {
		// A published version's lock does not change: a newer one may
		// hold what the child needs.
		fix = fmt.Sprintf("pin a version of %s newer than %s", name, version)
	}
	return fmt.Sprintf("%s: images.%s.%s: %s conflicts with the parent's lock on %s: %s, but %s locked %s %s; change the child's requirement or %s",
		e.Pos, e.Image, e.Field, e.Package, e.Platform, need, e.Parent, e.Package, e.Pinned, fix)
}

// chainLocks are the ancestors' locks on one platform, nearest first.
type chainLocks []struct {
	name string
	pk   *lock.Packages
}

func ancestors(req Request, pf string) chainLocks {
	var out chainLocks
	for i := len(req.Chain) - 1; i >= 0; i-- {
		a := req.Chain[i]
		out = append(out, struct {
			name string
			pk   *lock.Packages
		}{a.Name, a.Lock.For(pf)})
	}
	if req.Pinned != nil {
		pinned := req.Image // the first of the chain has the pinned parent
		if len(req.Chain) > 0 {
			pinned = req.Chain[0]
		}
		out = append(out, struct {
			name string
			pk   *lock.Packages
		}{pinned.Parent + "@" + pinned.ParentVersion, req.Pinned.For(pf)})
	}
	return out
}

func (c chainLocks) apt(name string) (owner, version string, ok bool) {
	for _, a := range c {
		if a.pk == nil {
			continue
		}
		for _, p := range a.pk.Apt {
			if p.Name == name {
				return a.name, p.Version, true
			}
		}
	}
	return "", "", false
}

func (c chainLocks) pip(name string) (owner, version string, ok bool) {
	for _, a := range c {
		if a.pk == nil {
			continue
		}
		for _, d := range a.pk.Pip {
			if d.Name == name {
				return a.name, d.Version, true
			}
		}
	}
	return "", "", false
}

// requirement is the spec entry of reqs that names pkg, or "".
func requirement(reqs []string, pkg string, nameOf func(string) string) string {
	for _, r := range reqs {
		if nameOf(r) == pkg {
			return r
		}
	}
	return ""
}

// pipName is the PEP 503 name of a requirement string "Name[extra]>=1".
func pipName(req string) string {
	end := strings.IndexAny(req, "<>=!~[;@ (")
	if end < 0 {
		end = len(req)
	}
	return lock.NormalizePip(strings.TrimSpace(req[:end]))
}
