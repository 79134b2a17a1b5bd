package planbench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Calls counts the reads Observe makes, by kind.
type Calls struct {
	ListTags, Manifest, Resolve, Marked atomic.Int64
}

// Counting is a plan.Registry that counts the calls made through it.
type Counting struct {
	Inner plan.Registry
	Calls *Calls
}

var _ plan.Registry = Counting{}

// ListTags implements plan.Registry.
func (c Counting) ListTags(ctx context.Context, repo string) ([]string, error) {
	c.Calls.ListTags.Add(1)
	return c.Inner.ListTags(ctx, repo)
}

// Manifest implements plan.Registry.
func (c Counting) Manifest(ctx context.Context, ref string) (*plan.Published, error) {
	c.Calls.Manifest.Add(1)
	return c.Inner.Manifest(ctx, ref)
}

// Resolve implements plan.Registry.
func (c Counting) Resolve(ctx context.Context, ref string) (string, error) {
	c.Calls.Resolve.Add(1)
	return c.Inner.Resolve(ctx, ref)
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
	// ListTags … Marked are Observe's reads by kind.
	ListTags, Manifest, Resolve, Marked int64
	// Pins counts children pinned to a parent version; DistinctPins counts
	// the distinct (parent, version) pairs among them.
	Pins, DistinctPins int
	Summary            plan.Summary
	Load, Observe      time.Duration
	Compute            time.Duration
}

// PerImage is the number of HTTP requests per image.
func (r Report) PerImage() float64 { return float64(r.Requests) / float64(max(r.Images, 1)) }

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
	for _, im := range lib.Images {
		if im.ParentVersion != "" {
			r.Pins++
			pins[im.Parent+"@"+im.ParentVersion] = true
		}
	}
	r.DistinctPins = len(pins)

	var cnt regclient.Counter
	var calls Calls
	reg := Counting{Inner: plan.Remote{C: regclient.New(regclient.WithCounter(&cnt))}, Calls: &calls}
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
	r.ListTags, r.Manifest, r.Resolve, r.Marked = calls.ListTags.Load(), calls.Manifest.Load(), calls.Resolve.Load(), calls.Marked.Load()
	return r, nil
}

// PeerReport is what the list+get peer cost.
type PeerReport struct {
	Repos    int
	Requests int64
	Elapsed  time.Duration
}

// ListGet is the peer of Observe for an unchanged library: for each
// repository, list its tags and fetch the manifest of the newest dated
// version, jobs at a time, with go-containerregistry's remote package over
// one shared authenticated transport.
func ListGet(ctx context.Context, repos []string, jobs int) (PeerReport, error) {
	var cnt regclient.Counter
	c := regclient.New(regclient.WithCounter(&cnt))
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for _, repo := range repos {
		g.Go(func() error {
			r, err := c.Repository(repo)
			if err != nil {
				return err
			}
			opts, err := c.ReadOptions(gctx, r)
			if err != nil {
				return err
			}
			tags, err := remote.List(r, opts...)
			if err != nil {
				return fmt.Errorf("listing %s: %w", repo, err)
			}
			vs := plan.DatedVersions(tags)
			if len(vs) == 0 {
				return fmt.Errorf("%s: no dated version", repo)
			}
			if _, err := remote.Get(r.Tag(vs[len(vs)-1]), opts...); err != nil {
				return fmt.Errorf("reading %s:%s: %w", repo, vs[len(vs)-1], err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return PeerReport{}, err
	}
	return PeerReport{Repos: len(repos), Requests: cnt.Requests(), Elapsed: time.Since(start)}, nil
}
