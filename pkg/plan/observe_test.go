package plan_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/plan/plantest"
)

// inFlight is a plan.Registry that records the most calls in flight at
// once; each call lasts a little, so that concurrent ones overlap.
type inFlight struct {
	inner     *plantest.Registry
	now, peak atomic.Int64
}

var (
	_ plan.Registry         = (*inFlight)(nil)
	_ plan.PlatformResolver = (*inFlight)(nil)
)

func (r *inFlight) enter() func() {
	n := r.now.Add(1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond)
	return func() { r.now.Add(-1) }
}

func (r *inFlight) ListTags(ctx context.Context, repo string) ([]string, error) {
	defer r.enter()()
	return r.inner.ListTags(ctx, repo)
}

func (r *inFlight) Manifest(ctx context.Context, ref string) (*published.Manifest, error) {
	defer r.enter()()
	return r.inner.Manifest(ctx, ref)
}

func (r *inFlight) Resolve(ctx context.Context, ref string) (string, error) {
	defer r.enter()()
	return r.inner.Resolve(ctx, ref)
}

func (r *inFlight) Platforms(ctx context.Context, ref string) (string, []string, error) {
	defer r.enter()()
	return r.inner.Platforms(ctx, ref)
}

func (r *inFlight) Marked(ctx context.Context, repo, digest string) (bool, error) {
	defer r.enter()()
	return r.inner.Marked(ctx, repo, digest)
}

// TestObserveStaysWithinJobs: Jobs bounds every read Observe makes, the
// first image's (read alone, before the others) included.
func TestObserveStaysWithinJobs(t *testing.T) {
	f := publishedLibrary(t)
	lib := f.load()
	for _, jobs := range []int{1, 2, 3, 8} {
		reg := &inFlight{inner: f.reg}
		snap, err := plan.Observe(context.Background(), lib, reg, plan.ObserveOptions{Jobs: jobs})
		require.NoError(t, err)
		require.Len(t, snap.Images, len(lib.Names()))
		assert.LessOrEqual(t, reg.peak.Load(), int64(jobs), "jobs %d: reads in flight at once", jobs)
		if jobs > 1 {
			assert.Greater(t, reg.peak.Load(), int64(1), "jobs %d: reads are concurrent", jobs)
		}
	}
}
