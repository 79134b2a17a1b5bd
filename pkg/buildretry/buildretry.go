package buildretry

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// Builder builds one image and pushes it by digest, and says what it can
// build (publish.Builder).
type Builder interface {
	Build(ctx context.Context, req build.Request, status chan *client.SolveStatus) (build.Result, error)
	Capabilities(ctx context.Context) (build.Capabilities, error)
}

// Backoff before the n-th retry: base·2^(n-1), capped, less up to half at
// random so that images failing together do not retry together.
const (
	backoffBase = 500 * time.Millisecond
	backoffCap  = 10 * time.Second
)

// Retrying retries an inner Builder's transient failures.
type Retrying struct {
	inner   Builder
	retries int
	log     *slog.Logger
	wait    func(n int) time.Duration
}

var _ Builder = (*Retrying)(nil)

// New returns inner retried at most retries times after the first attempt
// (0: never), logging each retry at info level to log (nil discards).
func New(inner Builder, retries int, log *slog.Logger) *Retrying {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Retrying{inner: inner, retries: max(retries, 0), log: log, wait: backoff}
}

func backoff(n int) time.Duration {
	d := min(backoffCap, backoffBase<<min(n-1, 10))
	return d - rand.N(d/2+1)
}

// Build builds req, solving it again after a transient failure.
func (r *Retrying) Build(ctx context.Context, req build.Request, status chan *client.SolveStatus) (build.Result, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		res, err := r.inner.Build(ctx, req, status)
		if err == nil {
			res.Duration = time.Since(start)
			return res, nil
		}
		reason := Transient(ctx, err)
		if reason == "" || attempt > r.retries {
			return res, err
		}
		wait := r.wait(attempt)
		name := ""
		if req.Image != nil {
			name = req.Image.Name
		}
		r.log.Info("retrying build", "image", name, "attempt", attempt, "of", r.retries+1, "reason", reason, "wait", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, err
		case <-t.C:
		}
	}
}

// Transient says why a build error is worth solving again ("" when it is
// not): a registry or network failure that may pass. A failing step of the
// spec, a cancelled ctx, anything the registry refused for good (401,
// 403, 404), and an error that says it is permanent (a Permanent() bool
// method returning true, like a pool with no daemon left) are not.
func Transient(ctx context.Context, err error) string {
	var (
		se   *build.StepError
		perm interface{ Permanent() bool }
	)
	if ctx.Err() != nil || errors.As(err, &se) || errors.As(err, &perm) && perm.Permanent() {
		return ""
	}
	return regclient.TransientReason(err)
}

// Capabilities are the inner builder's: retrying changes none of them.
func (r *Retrying) Capabilities(ctx context.Context) (build.Capabilities, error) {
	return r.inner.Capabilities(ctx)
}
