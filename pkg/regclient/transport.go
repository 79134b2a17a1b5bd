package regclient

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// retrying is the client's transport retry (see policy): it sends a
// request again, after a backoff, when it failed transiently (see
// TransientReason, and statusReason for responses), at most 1+retries
// times, and logs every retry. It sits under go-containerregistry's auth
// transport, so a retry reuses the token, and a 401 goes up to be
// refreshed.
//
// A request is retried only if it can be replayed: no body, or a body
// with GetBody (go-containerregistry sets it for manifests and token
// requests). Upload-session requests are not retried here (see
// isUploadSession). Small read responses (everything but blobs) are read
// in full before they are returned, so a body the server cut short is
// retried too rather than surfacing as an unexpected EOF in the caller.
type retrying struct {
	inner http.RoundTripper
	p     *policy
}

// maxBuffered bounds the response bodies retrying reads ahead: manifests,
// indexes, tag lists, tokens and error bodies are far smaller.
const maxBuffered = 8 << 20

func (r *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	if !replayable(req) {
		return r.inner.RoundTrip(req)
	}
	ctx := req.Context()
	for n := 1; ; n++ {
		resp, err := r.inner.RoundTrip(req)
		if err == nil && buffers(req) {
			if err = readAhead(resp); err != nil {
				resp = nil
			}
		}
		var reason string
		if err != nil {
			reason = TransientReason(err)
		} else {
			reason = statusReason(resp.StatusCode)
		}
		if reason == "" || n > r.p.retries || ctx.Err() != nil {
			return resp, err
		}
		next := req
		if req.Body != nil && req.Body != http.NoBody {
			body, gerr := req.GetBody()
			if gerr != nil {
				return resp, err
			}
			next = req.Clone(ctx)
			next.Body = body
		}
		wait := r.p.wait(n, resp)
		discard(resp)
		r.p.logRetry(ctx, req.Method, req.URL, n, reason, wait)
		if err := sleep(ctx, wait); err != nil {
			if next.Body != nil {
				next.Body.Close()
			}
			return nil, err
		}
		req = next
	}
}

// replayable reports whether req may be sent again.
func replayable(req *http.Request) bool {
	if isUploadSession(req.URL.Path) {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// buffers reports whether retrying reads req's response ahead: GETs of
// anything but blobs.
func buffers(req *http.Request) bool {
	return req.Method == http.MethodGet && !strings.Contains(req.URL.Path, "/blobs/")
}

// readAhead reads resp's body into memory (up to maxBuffered; the rest, if
// any, is still read from the connection). On error it closes the body.
func readAhead(resp *http.Response) error {
	if resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength > maxBuffered {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBuffered))
	if err != nil {
		resp.Body.Close()
		return err
	}
	if len(b) < maxBuffered {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return nil
}

// discard drains (a little) and closes a response that will be retried,
// so its connection can be reused.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// limiting holds at most n requests in flight per host: a request waits
// for a slot (or its context) before it is sent and frees it when the
// response headers arrive (not when its body is read: a copy streams one
// body into another request).
type limiting struct {
	inner http.RoundTripper
	n     int
	mu    sync.Mutex
	hosts map[string]chan struct{}
}

func (l *limiting) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	sem, ok := l.hosts[req.URL.Host]
	if !ok {
		sem = make(chan struct{}, l.n)
		l.hosts[req.URL.Host] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-sem }()
	return l.inner.RoundTrip(req)
}

// Counter counts the HTTP requests sent to registries.
type Counter struct{ n atomic.Int64 }

// Requests returns the number of requests counted so far.
func (c *Counter) Requests() int64 { return c.n.Load() }

type counting struct {
	inner http.RoundTripper
	c     *Counter
}

func (t *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.n.Add(1)
	return t.inner.RoundTrip(req)
}

// plainHTTPGuard refuses plain-HTTP requests except to loopback hosts and
// hosts marked insecure. go-containerregistry also falls back to HTTP for
// private (RFC 1918) addresses; imgctl does not without being told.
type plainHTTPGuard struct {
	inner    http.RoundTripper
	insecure func(host string) bool
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) && !g.insecure(req.URL.Host) {
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	return g.inner.RoundTrip(req)
}

// PlainHTTPError is a plain-HTTP request refused: the host is neither
// loopback nor marked insecure (WithInsecure).
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s: it is not marked insecure", e.Host)
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
