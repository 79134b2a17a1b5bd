package regclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/regclient"
)

type fault string

const (
	fail503   fault = "503"
	fail429   fault = "429" // with Retry-After: 0
	failReset fault = "reset"
	fail401   fault = "401"
)

// rule fails the first `failures` requests whose method is method and
// whose path starts with path.
type rule struct {
	method, path string
	fault        fault
	retryAfter   string // on 503
	failures     atomic.Int64
	seen         atomic.Int64
}

// flaky is an in-process registry behind a fault injector.
type flaky struct {
	host   string
	digest string // of host/a/b:v1
	next   http.Handler
	rule   atomic.Pointer[rule]
}

func newFlaky(t *testing.T) *flaky {
	t.Helper()
	f := &flaky{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewUnstartedServer(f)
	// A reset on a kept-alive connection makes net/http send a GET once
	// more by itself; without keep-alives the server sees every attempt.
	srv.Config.SetKeepAlivesEnabled(false)
	srv.Start()
	t.Cleanup(srv.Close)
	f.host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(512, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(f.host + "/a/b:v1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)
	f.digest = d.String()
	return f
}

// arm fails the next k requests matching method and path with ft, and
// counts the matching requests from now on.
func (f *flaky) arm(method, path string, ft fault, k int) *rule {
	r := &rule{method: method, path: path, fault: ft}
	r.failures.Store(int64(k))
	f.rule.Store(r)
	return r
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := f.rule.Load()
	if r == nil || req.Method != r.method || !strings.HasPrefix(req.URL.Path, r.path) {
		f.next.ServeHTTP(w, req)
		return
	}
	r.seen.Add(1)
	if r.failures.Add(-1) < 0 {
		f.next.ServeHTTP(w, req)
		return
	}
	switch r.fault {
	case fail503:
		if r.retryAfter != "" {
			w.Header().Set("Retry-After", r.retryAfter)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	case fail429:
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	case fail401:
		w.WriteHeader(http.StatusUnauthorized)
	case failReset:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		conn.(*net.TCPConn).SetLinger(0) // close sends RST
		conn.Close()
	}
}

// op is one registry operation, and the request of it that faults.
type op struct {
	name, method, path string
	// requests is how many matching requests a success takes after
	// k failures.
	requests func(k int) int64
	run      func(ctx context.Context, c *regclient.Client, f *flaky) error
}

func once(k int) int64 { return int64(k) + 1 }

func writeImage(ctx context.Context, c *regclient.Client, f *flaky, tag string) error {
	ref, err := c.Reference(f.host + "/a/b:" + tag)
	if err != nil {
		return err
	}
	opts, err := c.WriteOptions(ctx, ref.Context())
	if err != nil {
		return err
	}
	img, err := random.Image(1024, 1) // a layer and a config blob
	if err != nil {
		return err
	}
	return remote.Write(ref, img, opts...)
}

func writeLayer(ctx context.Context, c *regclient.Client, f *flaky) error {
	repo, err := c.Repository(f.host + "/a/b")
	if err != nil {
		return err
	}
	opts, err := c.WriteOptions(ctx, repo)
	if err != nil {
		return err
	}
	l, err := random.Layer(1024, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		return err
	}
	return remote.WriteLayer(repo, l, opts...)
}

var ops = []op{
	{"list tags", http.MethodGet, "/v2/a/b/tags/list", once, func(ctx context.Context, c *regclient.Client, f *flaky) error {
		tags, err := c.ListTags(ctx, f.host+"/a/b")
		if err == nil && len(tags) != 1 {
			return errors.New("no tags")
		}
		return err
	}},
	{"get", http.MethodGet, "/v2/a/b/manifests/v1", once, func(ctx context.Context, c *regclient.Client, f *flaky) error {
		_, err := c.Get(ctx, f.host+"/a/b:v1")
		return err
	}},
	{"head", http.MethodHead, "/v2/a/b/manifests/v1", once, func(ctx context.Context, c *regclient.Client, f *flaky) error {
		_, err := c.Head(ctx, f.host+"/a/b:v1")
		return err
	}},
	{"tag", http.MethodPut, "/v2/a/b/manifests/v2", once, func(ctx context.Context, c *regclient.Client, f *flaky) error {
		return c.Tag(ctx, f.host+"/a/b", "v2", f.digest)
	}},
	{"write: manifest PUT", http.MethodPut, "/v2/a/b/manifests/w", once, func(ctx context.Context, c *regclient.Client, f *flaky) error {
		return writeImage(ctx, c, f, "w")
	}},
	// Two blobs upload at once; k failures among them, each a restart.
	{"write: blob PATCH", http.MethodPatch, "/v2/a/b/blobs/uploads/", func(k int) int64 { return int64(k) + 2 }, func(ctx context.Context, c *regclient.Client, f *flaky) error {
		return writeImage(ctx, c, f, "w")
	}},
	{"write layer: blob PATCH", http.MethodPatch, "/v2/a/b/blobs/uploads/", once, writeLayer},
	{"write layer: upload POST", http.MethodPost, "/v2/a/b/blobs/uploads/", once, writeLayer},
	{"write layer: commit PUT", http.MethodPut, "/v2/a/b/blobs/uploads/", once, writeLayer},
}

func TestEveryOperationRetries(t *testing.T) {
	for _, o := range ops {
		for _, ft := range []fault{fail503, fail429, failReset} {
			t.Run(o.name+"/"+string(ft), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()

				// Two failures: the default policy rides them out.
				f := newFlaky(t)
				r := f.arm(o.method, o.path, ft, 2)
				require.NoError(t, o.run(ctx, regclient.New(), f))
				assert.Equal(t, o.requests(2), r.seen.Load(), "requests sent")

				// More failures than retries: 1+N attempts, then the error.
				f = newFlaky(t)
				r = f.arm(o.method, o.path, ft, 1000)
				err := o.run(ctx, regclient.New(regclient.WithRetries(2)), f)
				require.Error(t, err)
				assert.True(t, regclient.Transient(err), "the last failure is returned: %v", err)
				if o.requests(0) == 1 {
					assert.Equal(t, int64(1+2), r.seen.Load(), "attempts are exactly 1+N, not multiplied by a second retry layer")
				}
			})
		}
	}
}

func TestPermanentFailuresAreNotRetried(t *testing.T) {
	f := newFlaky(t)
	var logs bytes.Buffer
	c := regclient.New(regclient.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	r := f.arm(http.MethodHead, "/v2/a/b/manifests/missing", fail503, 0)
	_, err := c.Head(context.Background(), f.host+"/a/b:missing")
	require.ErrorIs(t, err, regclient.ErrNotFound)
	assert.Equal(t, int64(1), r.seen.Load())

	r = f.arm(http.MethodGet, "/v2/a/b/tags/list", fail401, 1)
	_, err = c.ListTags(context.Background(), f.host+"/a/b")
	require.Error(t, err)
	assert.False(t, regclient.Transient(err))
	assert.Equal(t, int64(1), r.seen.Load())

	assert.Empty(t, logs.String())
}

func TestRetriesCanBeDisabled(t *testing.T) {
	f := newFlaky(t)
	r := f.arm(http.MethodGet, "/v2/a/b/tags/list", fail503, 1)
	_, err := regclient.New(regclient.WithRetries(0)).ListTags(context.Background(), f.host+"/a/b")
	require.Error(t, err)
	assert.Equal(t, int64(1), r.seen.Load())
}

func TestCancellationEndsTheWait(t *testing.T) {
	f := newFlaky(t)
	c := regclient.New()
	_, err := c.ListTags(context.Background(), f.host+"/a/b") // handshake done
	require.NoError(t, err)

	r := f.arm(http.MethodGet, "/v2/a/b/tags/list", fail503, 1000)
	r.retryAfter = "30"
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.ListTags(ctx, f.host+"/a/b")
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, regclient.Transient(err))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, int64(1), r.seen.Load())
}

// logLine is a retry as logged by slog's JSON handler.
type logLine struct {
	Level, Msg, Method, Host, Path, Reason string
	Attempt, Of                            int
	Wait                                   time.Duration
}

func retryLogs(t *testing.T, buf *bytes.Buffer) []logLine {
	t.Helper()
	var lines []logLine
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var ll logLine
		require.NoError(t, json.Unmarshal([]byte(l), &ll), l)
		lines = append(lines, ll)
	}
	return lines
}

func TestEveryRetryIsLogged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		op      op
		fault   fault
		reasons []string
	}{
		{"status", ops[0], fail503, []string{"HTTP 503"}},
		{"reset", ops[1], failReset, []string{"connection reset by peer", "EOF"}},
		{"upload restart", ops[6], fail503, []string{"HTTP 503"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlaky(t)
			var buf bytes.Buffer
			c := regclient.New(regclient.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
			f.arm(tc.op.method, tc.op.path, tc.fault, 1)
			require.NoError(t, tc.op.run(context.Background(), c, f))

			lines := retryLogs(t, &buf)
			require.Len(t, lines, 1, buf.String())
			l := lines[0]
			assert.Equal(t, "INFO", l.Level)
			assert.Equal(t, "retrying registry request", l.Msg)
			assert.Equal(t, tc.op.method, l.Method)
			assert.Equal(t, f.host, l.Host)
			assert.True(t, strings.HasPrefix(l.Path, tc.op.path), l.Path)
			assert.Equal(t, 1, l.Attempt)
			assert.Equal(t, 1+regclient.DefaultRetries, l.Of)
			assert.Contains(t, tc.reasons, l.Reason)
			assert.Positive(t, l.Wait)
			assert.NotContains(t, buf.String(), "?", "no query strings (tokens, upload state) in logs")
		})
	}
}
