package regclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripted answers the n-th request (from 1) with respond, recording the
// bodies it was sent.
type scripted struct {
	mu      sync.Mutex
	bodies  []string
	respond func(n int, req *http.Request) (*http.Response, error)
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		body = string(b)
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	n := len(s.bodies)
	s.mu.Unlock()
	return s.respond(n, req)
}

func (s *scripted) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func status(code int, body string) *http.Response {
	return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

func testPolicy(retries int) (*policy, *bytes.Buffer) {
	var buf bytes.Buffer
	return &policy{retries: retries, log: slog.New(slog.NewTextHandler(&buf, nil))}, &buf
}

func TestRetryingReplaysOnlyWhatItCan(t *testing.T) {
	withGetBody := func(method, u string) *http.Request {
		req, _ := http.NewRequest(method, u, strings.NewReader("manifest"))
		return req // NewRequest sets GetBody for a strings.Reader
	}
	withoutGetBody := func(method, u string) *http.Request {
		req, _ := http.NewRequest(method, u, io.NopCloser(strings.NewReader("stream")))
		return req
	}
	for _, tc := range []struct {
		name  string
		req   *http.Request
		calls int
	}{
		{"GET without body", withGetBody(http.MethodGet, "http://r/v2/a/tags/list"), 3},
		{"manifest PUT with GetBody", withGetBody(http.MethodPut, "http://r/v2/a/manifests/v1"), 3},
		{"PUT without GetBody", withoutGetBody(http.MethodPut, "http://r/v2/a/manifests/v1"), 1},
		{"blob PATCH", withGetBody(http.MethodPatch, "http://r/v2/a/blobs/uploads/u1"), 1},
		{"upload POST", withGetBody(http.MethodPost, "http://r/v2/a/blobs/uploads/"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, logs := testPolicy(2)
			inner := &scripted{respond: func(int, *http.Request) (*http.Response, error) {
				resp := status(http.StatusServiceUnavailable, "")
				resp.Header.Set("Retry-After", "0")
				return resp, nil
			}}
			resp, err := (&retrying{inner: inner, p: p}).RoundTrip(tc.req)
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Equal(t, tc.calls, inner.calls())
			assert.Equal(t, tc.calls-1, strings.Count(logs.String(), "retrying registry request"), logs.String())
			if tc.req.Body != nil && tc.calls > 1 {
				for _, b := range inner.bodies {
					assert.Equal(t, "manifest", b, "every attempt sends the whole body")
				}
			}
		})
	}
}

// cutBody fails with an unexpected EOF after its content.
type cutBody struct{ r io.Reader }

func (b cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
func (cutBody) Close() error { return nil }

func TestRetryingReadsSmallBodiesAhead(t *testing.T) {
	p, logs := testPolicy(2)
	inner := &scripted{respond: func(n int, req *http.Request) (*http.Response, error) {
		if n == 1 {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: cutBody{strings.NewReader(`{"sche`)}, ContentLength: 20}, nil
		}
		return status(http.StatusOK, `{"schemaVersion":2}`), nil
	}}
	req, _ := http.NewRequest(http.MethodGet, "http://r/v2/a/manifests/v1", nil)
	resp, err := (&retrying{inner: inner, p: p}).RoundTrip(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, `{"schemaVersion":2}`, string(b))
	assert.Equal(t, 2, inner.calls())
	assert.Contains(t, logs.String(), `reason="unexpected EOF"`)

	// Blobs are streamed to the caller, not read ahead.
	inner = &scripted{respond: func(int, *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: cutBody{strings.NewReader("layer")}}, nil
	}}
	req, _ = http.NewRequest(http.MethodGet, "http://r/v2/a/blobs/sha256:abc", nil)
	resp, err = (&retrying{inner: inner, p: p}).RoundTrip(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, 1, inner.calls())
}

func TestRetryingStopsWhenTheCallerGivesUp(t *testing.T) {
	p, _ := testPolicy(5)
	inner := &scripted{respond: func(int, *http.Request) (*http.Response, error) {
		resp := status(http.StatusTooManyRequests, "")
		resp.Header.Set("Retry-After", "20")
		return resp, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://r/v2/a/tags/list", nil)
	start := time.Now()
	_, err := (&retrying{inner: inner, p: p}).RoundTrip(req)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, 1, inner.calls())
}

func TestWait(t *testing.T) {
	p := &policy{retries: 20}
	for n := 1; n <= 20; n++ {
		d := min(backoffCap, backoffBase<<min(n-1, 10))
		for range 50 {
			w := p.wait(n, nil)
			assert.GreaterOrEqual(t, w, d/2, "attempt %d", n)
			assert.Less(t, w, d, "attempt %d", n)
		}
	}
	resp := func(code int, after string) *http.Response {
		r := status(code, "")
		r.Header.Set("Retry-After", after)
		return r
	}
	assert.Equal(t, time.Duration(0), p.wait(3, resp(http.StatusTooManyRequests, "0")))
	assert.Equal(t, 2*time.Second, p.wait(1, resp(http.StatusServiceUnavailable, "2")))
	assert.Equal(t, maxRetryAfter, p.wait(1, resp(http.StatusTooManyRequests, "86400")))
	assert.Less(t, p.wait(1, resp(http.StatusBadGateway, "20")), backoffBase, "Retry-After only on 429 and 503")
	assert.Less(t, p.wait(1, resp(http.StatusServiceUnavailable, "soon")), backoffBase)

	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	d, ok := retryAfter(now.Add(7*time.Second).Format(http.TimeFormat), now)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, d)
	d, ok = retryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now)
	assert.True(t, ok)
	assert.Equal(t, time.Duration(0), d)
	_, ok = retryAfter("-1", now)
	assert.False(t, ok)
}

func TestRestartsOnlyUploadSessions(t *testing.T) {
	p, logs := testPolicy(2)
	r := &restarts{p: p, n: map[string]int{}}
	ctx := context.Background()
	patch := &transport.Error{StatusCode: http.StatusServiceUnavailable, Request: &http.Request{Method: http.MethodPatch, URL: &url.URL{Scheme: "http", Host: "r", Path: "/v2/a/b/blobs/uploads/u1", RawQuery: "_state=secret"}}}
	reset := &url.Error{Op: "Put", URL: "http://r/v2/a/b/blobs/uploads/u2?digest=sha256:abc&_state=secret", Err: errors.New("read: connection reset by peer")}
	manifest := &transport.Error{StatusCode: http.StatusServiceUnavailable, Request: &http.Request{Method: http.MethodPut, URL: &url.URL{Scheme: "http", Host: "r", Path: "/v2/a/b/manifests/v1"}}}
	denied := &transport.Error{StatusCode: http.StatusForbidden, Request: patch.Request}

	assert.False(t, r.retry(ctx, manifest), "the transport retried it already")
	assert.False(t, r.retry(ctx, denied))
	assert.False(t, r.retry(ctx, errors.New("reading layer: boom")))
	assert.True(t, r.retry(ctx, patch))
	assert.True(t, r.retry(ctx, reset))
	assert.False(t, r.retry(ctx, patch), "N=2 restarts in a row, then give up")
	assert.True(t, r.retry(ctx, patch), "a refusal starts the count again")
	assert.False(t, r.retry(ctx, nil))
	assert.True(t, r.retry(ctx, patch))
	assert.True(t, r.retry(ctx, patch), "a success clears the count")

	out := logs.String()
	assert.Equal(t, 5, strings.Count(out, "retrying registry request"), out)
	assert.Contains(t, out, "method=PATCH host=r path=/v2/a/b/blobs/uploads/u1 attempt=1 of=3")
	assert.Contains(t, out, `method=PUT host=r path=/v2/a/b/blobs/uploads/u2 attempt=2 of=3 reason="connection reset by peer"`)
	assert.NotContains(t, out, "secret")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.False(t, r.retry(cancelled, patch))
}
