package planbench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/readmodel"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Calls counts the reads Observe makes, by kind. Moving counts the
// resolves of moving tags; Resolve counts every other resolve (superseded
// versions, external bases, versions a stray moving tag may be on).
// Bases counts the reads of external bases' platforms.
type Calls struct {
	ListTags, Manifest, Moving, Resolve, Marked, Bases atomic.Int64
}

// Counting is a plan.Registry that counts the calls made through it.
type Counting struct {
	Inner plan.Registry
	Calls *Calls
	// Moving holds the references (repo:tag) of moving tags, whose
	// resolves are counted as Moving.
	Moving map[string]bool
}

var (
	_ plan.Registry         = Counting{}
	_ plan.PlatformResolver = Counting{}
)

// ListTags implements plan.Registry.
func (c Counting) ListTags(ctx context.Context, repo string) ([]string, error) {
	c.Calls.ListTags.Add(1)
	return c.Inner.ListTags(ctx, repo)
}

// Manifest implements plan.Registry.
func (c Counting) Manifest(ctx context.Context, ref string) (*published.Manifest, error) {
	c.Calls.Manifest.Add(1)
	return c.Inner.Manifest(ctx, ref)
}

// Resolve implements plan.Registry.
func (c Counting) Resolve(ctx context.Context, ref string) (string, error) {
	if c.Moving[ref] {
		c.Calls.Moving.Add(1)
	} else {
		c.Calls.Resolve.Add(1)
	}
	return c.Inner.Resolve(ctx, ref)
}

// Platforms implements plan.PlatformResolver when Inner does, as Observe
// would use it; otherwise it resolves ref as Observe does without it and
// reports no platforms.
func (c Counting) Platforms(ctx context.Context, ref string) (string, []string, error) {
	if pr, ok := c.Inner.(plan.PlatformResolver); ok {
		c.Calls.Bases.Add(1)
		return pr.Platforms(ctx, ref)
	}
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d, nil, nil
	}
	d, err := c.Resolve(ctx, ref)
	return d, nil, err
}

// Marked implements plan.Registry.
func (c Counting) Marked(ctx context.Context, repo, digest string) (bool, error) {
	c.Calls.Marked.Add(1)
	return c.Inner.Marked(ctx, repo, digest)
}

// Report is what one planning run cost.
type Report struct {
	Images int
	// Requests are the HTTP requests sent to the registry.
	Requests int64
	// ListTags … Bases are Observe's reads by kind (see Calls).
	ListTags, Manifest, Moving, Resolve, Marked, Bases int64
	// MovingTags counts the moving tags that exist (latest and the spec's
	// tags): the budget allows one read each.
	MovingTags int
	// Pins counts children pinned to a parent version; DistinctPins counts
	// the distinct (parent, version) pairs among them.
	Pins, DistinctPins int
	Summary            plan.Summary
	Load, Observe      time.Duration
	Compute            time.Duration
}

// PerImage is the number of HTTP requests per image.
func (r Report) PerImage() float64 { return float64(r.Requests) / float64(max(r.Images, 1)) }

// Reads is the number of registry reads Observe made for images, without
// the one auth handshake per registry and the external bases' reads, once
// per run.
func (r Report) Reads() int64 { return r.ListTags + r.Manifest + r.Moving + r.Resolve + r.Marked }

// Budget is the most reads an unchanged library may cost: 2 per image plus
// one per moving tag.
func (r Report) Budget() int64 { return 2*int64(r.Images) + int64(r.MovingTags) }

// Options configure Plan.
type Options struct {
	// Date is the plan date, YYYY-MM-DD.
	Date string
	// Jobs is Observe's concurrency (imgctl's --jobs; the CLI default is 8).
	Jobs int
}

// Plan does what `imgctl plan DIR` does (load, observe, compute) with a
// client counting every HTTP request, and reports the counts and phase times.
func Plan(ctx context.Context, dir string, o Options) (Report, error) {
	var r Report
	t0 := time.Now()
	lib, err := spec.Load(dir)
	if err != nil {
		return r, err
	}
	r.Load = time.Since(t0)
	r.Images = len(lib.Images)
	pins := map[string]bool{}
	moving := map[string]bool{}
	for _, im := range lib.Images {
		for _, t := range plan.MovingTags(im) {
			moving[lib.Registry+"/"+im.Name+":"+t] = true
		}
		if im.ParentVersion != "" {
			r.Pins++
			pins[im.Parent+"@"+im.ParentVersion] = true
		}
	}
	r.DistinctPins = len(pins)

	var cnt regclient.Counter
	var calls Calls
	reg := Counting{Inner: readmodel.Remote{C: regclient.New(regclient.WithCounter(&cnt))}, Calls: &calls, Moving: moving}
	t1 := time.Now()
	snap, err := plan.Observe(ctx, lib, reg, plan.ObserveOptions{Jobs: o.Jobs})
	if err != nil {
		return r, err
	}
	r.Observe = time.Since(t1)
	t2 := time.Now()
	p, err := plan.Compute(lib, snap, plan.Options{Date: o.Date})
	if err != nil {
		return r, err
	}
	r.Compute = time.Since(t2)
	r.Summary = p.Summary
	r.Requests = cnt.Requests()
	r.ListTags, r.Manifest, r.Moving = calls.ListTags.Load(), calls.Manifest.Load(), calls.Moving.Load()
	r.Resolve, r.Marked, r.Bases = calls.Resolve.Load(), calls.Marked.Load(), calls.Bases.Load()
	for _, st := range snap.Images {
		r.MovingTags += len(st.TagDigests)
	}
	return r, nil
}

// PeerReport is what the list+get peer cost.
type PeerReport struct {
	Repos int
	// Requests are the HTTP requests sent; Heads those that resolved a
	// moving tag.
	Requests, Heads int64
	Elapsed         time.Duration
}

// Repo is one repository the peer reads, with its moving tags (latest and
// the tags the spec declares).
type Repo struct {
	Name   string
	Moving []string
}

// ListGet is the peer of Observe for an unchanged library: for each
// repository, list its tags, fetch the manifest of the newest dated version
// and resolve (HEAD) each of its moving tags that exists, one read after
// the other, jobs repositories at a time, with go-containerregistry's
// remote package over one shared authenticated transport.
func ListGet(ctx context.Context, repos []Repo, jobs int) (PeerReport, error) {
	var cnt regclient.Counter
	var heads atomic.Int64
	c := regclient.New(regclient.WithCounter(&cnt))
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for _, repo := range repos {
		g.Go(func() error {
			r, err := c.Repository(repo.Name)
			if err != nil {
				return err
			}
			opts, err := c.ReadOptions(gctx, r)
			if err != nil {
				return err
			}
			tags, err := remote.List(r, opts...)
			if err != nil {
				return fmt.Errorf("listing %s: %w", repo.Name, err)
			}
			vs := published.VersionTags(tags)
			if len(vs) == 0 {
				return fmt.Errorf("%s: no dated version", repo.Name)
			}
			if _, err := remote.Get(r.Tag(vs[len(vs)-1]), opts...); err != nil {
				return fmt.Errorf("reading %s:%s: %w", repo.Name, vs[len(vs)-1], err)
			}
			for _, t := range repo.Moving {
				if !slices.Contains(tags, t) {
					continue
				}
				if _, err := remote.Head(r.Tag(t), opts...); err != nil {
					return fmt.Errorf("resolving %s:%s: %w", repo.Name, t, err)
				}
				heads.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return PeerReport{}, err
	}
	return PeerReport{Repos: len(repos), Requests: cnt.Requests(), Heads: heads.Load(), Elapsed: time.Since(start)}, nil
}
