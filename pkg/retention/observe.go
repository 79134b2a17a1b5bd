package retention

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

// Registry is the read access Observe needs (readmodel.Remote).
type Registry interface {
	status.Registry
	// Resolve returns the digest ref points at (published.ErrNotFound
	// when it is gone).
	Resolve(ctx context.Context, ref string) (string, error)
}

// ObserveOptions configure Observe.
type ObserveOptions struct {
	// Registry overrides the library's registry.
	Registry string
	Jobs     int
}

// Observe reads what Compute needs, once: the status of every image
// (status.Collect) and what latest, the spec's moving tags and every tag
// imgctl did not write point at.
func Observe(ctx context.Context, lib *spec.Library, reg Registry, opts ObserveOptions) (*Observation, error) {
	r, err := status.Collect(ctx, lib, reg, status.Options{Registry: opts.Registry, Jobs: opts.Jobs})
	if err != nil {
		return nil, err
	}
	return ObserveTargets(ctx, lib, reg, r, opts.Jobs)
}

// ObserveTargets completes a status report already collected (status
// shows what the next prune deletes) into an Observation.
func ObserveTargets(ctx context.Context, lib *spec.Library, reg Registry, r *status.Report, jobs int) (*Observation, error) {
	obs := &Observation{Report: r, Targets: map[string]map[string]string{}}
	type job struct{ repo, tag string }
	var todo []job
	for _, im := range r.Images {
		var moving []string
		if si := lib.Image(im.Name); si != nil {
			moving = si.Tags
		}
		obs.Targets[im.Repository] = map[string]string{}
		for _, t := range im.Tags {
			switch published.Classify(t, moving) {
			case published.TagMoving, published.TagOther:
				todo = append(todo, job{im.Repository, t})
			}
		}
	}
	digests := make([]string, len(todo))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, jobs))
	for i, j := range todo {
		g.Go(func() error {
			d, err := reg.Resolve(gctx, j.repo+":"+j.tag)
			if errors.Is(err, published.ErrNotFound) {
				return nil // listed, gone
			}
			if err != nil {
				return fmt.Errorf("resolving %s:%s: %w", j.repo, j.tag, err)
			}
			digests[i] = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, j := range todo {
		obs.Targets[j.repo][j.tag] = digests[i]
	}
	return obs, nil
}
