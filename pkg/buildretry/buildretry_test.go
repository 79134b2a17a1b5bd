package buildretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/spec"
)

// scripted fails with errs in turn, then succeeds.
type scripted struct {
	errs  []error
	calls int
}

func (s *scripted) Capabilities(context.Context) (build.Capabilities, error) {
	return build.Capabilities{}, nil
}

func (s *scripted) Build(ctx context.Context, req build.Request, _ chan *client.SolveStatus) (build.Result, error) {
	s.calls++
	if s.calls <= len(s.errs) {
		return build.Result{}, s.errs[s.calls-1]
	}
	return build.Result{Digest: "sha256:abc"}, nil
}

// BuildKit's push errors reach imgctl as text over gRPC.
var (
	push503   = errors.New(`building py: failed to push 127.0.0.1:5000/ds/py: unexpected status from PUT request to http://127.0.0.1:5000/v2/ds/py/manifests/sha256:ab: 503 Service Unavailable`)
	pushReset = errors.New(`building py: failed to copy: read tcp 127.0.0.1:4242->127.0.0.1:5000: read: connection reset by peer`)
	pull401   = errors.New(`building py: failed to resolve source metadata for 127.0.0.1:5000/ds/base@sha256:ab: unexpected status from HEAD request: 401 Unauthorized`)
	stepFail  = &build.StepError{Image: "py", Step: 2, Steps: 3, Field: "run[0]", Command: "RUN false", Err: errors.New("exit code: 1")}
)

func newRetrying(inner Builder, retries int, log *bytes.Buffer) *Retrying {
	r := New(inner, retries, slog.New(slog.NewTextHandler(log, nil)))
	r.wait = func(int) time.Duration { return time.Millisecond }
	return r
}

func TestRetries(t *testing.T) {
	req := build.Request{Image: &spec.Image{Name: "py"}}
	for _, c := range []struct {
		name    string
		errs    []error
		retries int
		calls   int
		ok      bool
		logged  []string
	}{
		{"push 503 then reset, then success", []error{push503, pushReset}, 3, 3, true, []string{"HTTP 503", "connection reset by peer"}},
		{"retries exhausted", []error{push503, push503, push503}, 2, 3, false, []string{"HTTP 503", "HTTP 503"}},
		{"a failing step is the spec's fault", []error{stepFail}, 3, 1, false, nil},
		{"access denied is permanent", []error{pull401}, 3, 1, false, nil},
		{"no retries configured", []error{push503}, 0, 1, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			s := &scripted{errs: c.errs}
			res, err := newRetrying(s, c.retries, &log).Build(context.Background(), req, nil)
			assert.Equal(t, c.calls, s.calls)
			if c.ok {
				require.NoError(t, err)
				assert.Equal(t, "sha256:abc", res.Digest)
			} else {
				require.Error(t, err)
				assert.Same(t, c.errs[len(c.errs)-1], err, "the last error is returned as it is")
			}
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			if len(c.logged) == 0 {
				assert.Empty(t, strings.TrimSpace(log.String()))
				return
			}
			require.Len(t, lines, len(c.logged))
			for i, want := range c.logged {
				assert.Contains(t, lines[i], "level=INFO msg=\"retrying build\" image=py")
				assert.Contains(t, lines[i], fmt.Sprintf("attempt=%d of=%d", i+1, c.retries+1))
				assert.Contains(t, lines[i], want)
			}
		})
	}
}

func TestCancelStopsTheWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := New(&scripted{errs: []error{push503, push503}}, 5, nil)
	r.wait = func(int) time.Duration { return time.Hour }
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := r.Build(ctx, build.Request{Image: &spec.Image{Name: "py"}}, nil)
	assert.ErrorIs(t, err, push503)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestBackoffBounded(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(n)
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, backoffCap)
	}
}

// permanent is an error that says retrying cannot help, although its text
// names a transient cause (like buildpool's "no suitable daemon").
type permanent struct{}

func (permanent) Error() string {
	return "no suitable BuildKit daemon: unix:///a is down: connection refused"
}
func (permanent) Permanent() bool { return true }

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	s := &scripted{errs: []error{fmt.Errorf("building py: %w", permanent{})}}
	_, err := newRetrying(s, 3, &bytes.Buffer{}).Build(context.Background(), build.Request{Image: &spec.Image{Name: "py"}}, nil)
	require.Error(t, err)
	assert.Equal(t, 1, s.calls)
	assert.Empty(t, Transient(context.Background(), err))
	assert.Equal(t, "connection refused", Transient(context.Background(), errors.New(permanent{}.Error())), "the same text alone is transient")
}

// slotted is a builder that says what it builds and how many builds it
// runs at a time.
type slotted struct{ scripted }

func (slotted) Capabilities(context.Context) (build.Capabilities, error) {
	return build.Capabilities{Platforms: []string{"linux/amd64"}, Slots: 24, Addr: "unix:///bk"}, nil
}

func TestCapabilitiesForwarded(t *testing.T) {
	caps, err := New(&slotted{}, 1, nil).Capabilities(context.Background())
	require.NoError(t, err)
	assert.Equal(t, build.Capabilities{Platforms: []string{"linux/amd64"}, Slots: 24, Addr: "unix:///bk"}, caps)
	caps, err = New(&scripted{}, 1, nil).Capabilities(context.Background())
	require.NoError(t, err)
	assert.Zero(t, caps, "an inner builder that cannot tell")
}
