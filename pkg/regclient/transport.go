package regclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// retrying retries idempotent-safe requests on 429, 5xx and network timeouts
// with exponential backoff. It decorates any RoundTripper.
type retrying struct {
	inner    http.RoundTripper
	attempts int
	backoff  time.Duration
}

func (r *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	delay := r.backoff
	for attempt := 1; ; attempt++ {
		resp, err := r.inner.RoundTrip(req)
		if attempt >= r.attempts || !retryable(resp, err) || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		if req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func retryable(resp *http.Response, err error) bool {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return false
		}
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
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
		return nil, fmt.Errorf("refusing plain HTTP to %s: pass --insecure-registry %s if that registry has no TLS", req.URL.Host, req.URL.Host)
	}
	return g.inner.RoundTrip(req)
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
