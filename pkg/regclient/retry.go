package regclient

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DefaultRetries is how often a registry request that failed transiently
// is retried when WithRetries is not given: enough that a registry failing
// a third of its requests at random does not fail a publish (about 20 s of
// backoff before a request is given up).
const DefaultRetries = 8

// The backoff before retry n (n >= 1) is min(backoffCap, backoffBase·2^(n-1)),
// less up to half of it at random, unless the registry said when to come
// back (Retry-After on 429 and 503), which is honoured up to maxRetryAfter.
const (
	backoffBase   = 100 * time.Millisecond
	backoffCap    = 5 * time.Second
	maxRetryAfter = 30 * time.Second
)

// WithRetries sets how often a registry request that failed transiently
// (see Transient) is retried after its first attempt, so a request is sent
// at most 1+n times; a blob upload that fails inside its upload session
// is restarted as a whole, at most n times in a row (see
// Client.WriteOptions). 0 disables retries; a negative n counts as 0. The
// default is DefaultRetries (8).
func WithRetries(n int) Option {
	return func(c *Client) { c.retry.retries = max(n, 0) }
}

// WithLogger sets the logger every retry is reported to, at info level,
// with the message "retrying registry request" and the attributes method,
// host, path (never the query or credentials), attempt (the one that
// failed), of (1 + retries), reason and wait. A nil logger discards. The
// default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.retry.log = l
	}
}

// policy is the client's one retry policy: the transport (see retrying)
// and go-containerregistry's blob-upload restarts (see remoteRetry) both
// follow it.
type policy struct {
	retries int
	log     *slog.Logger
}

func defaultPolicy() policy {
	return policy{retries: DefaultRetries, log: slog.New(slog.DiscardHandler)}
}

// wait is the pause after failed attempt n (n >= 1); resp, if not nil, is
// the failed response, whose Retry-After is honoured on 429 and 503.
func (p *policy) wait(n int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, maxRetryAfter)
		}
	}
	d := backoffCap
	if n < 8 { // 100ms·2^6 already exceeds the cap
		d = min(backoffCap, backoffBase<<(n-1))
	}
	// Equal jitter: at least half the backoff, so a pause is a pause, and
	// clients that failed together do not come back together.
	return d/2 + rand.N(d/2)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// logRetry reports a retry: attempt n of method u failed for reason, and
// the next is sent after wait.
func (p *policy) logRetry(ctx context.Context, method string, u *url.URL, n int, reason string, wait time.Duration) {
	p.log.LogAttrs(ctx, slog.LevelInfo, "retrying registry request",
		slog.String("method", method),
		slog.String("host", u.Host),
		slog.String("path", u.Path),
		slog.Int("attempt", n),
		slog.Int("of", p.retries+1),
		slog.String("reason", reason),
		slog.Duration("wait", wait))
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isUploadSession reports whether path is a blob upload session
// (/v2/<name>/blobs/uploads/…): the POST that opens it, the PATCH that
// streams the blob and the PUT that commits it. A session is state on the
// registry, so such a request is never replayed: a PATCH sent twice may
// append the blob twice, and a commit whose response was lost fails when
// sent again. go-containerregistry restarts the whole upload instead.
func isUploadSession(path string) bool { return strings.Contains(path, "/blobs/uploads/") }

// How retries are layered (go-containerregistry v0.22.1):
//
//   - The transport. remote wraps a transport it is given in
//     transport.NewRetry (3 tries, no logging, no Retry-After) unless it
//     is a *transport.Wrapper. Ours always is one (transport.NewWithContext
//     returns a Wrapper), so the retrying decorator under the auth layer
//     is the only transport retry: every request that is not part of a
//     blob upload session is sent at most 1+N times. WithRetryStatusCodes
//     with no codes keeps ggcr's layer inert should that ever change.
//   - ggcr's writer runs each blob upload (HEAD, POST, PATCH, PUT) and
//     each manifest PUT in retry.Retry with the options' backoff and
//     predicate. The predicate (restarts.retry) accepts only transient
//     failures of upload-session requests, which the transport does not
//     retry: for them ggcr restarts the upload from the HEAD (which finds
//     the blob if an earlier commit landed). Every other failure reaching
//     it was already retried by the transport, so it is refused, and
//     attempts do not multiply. The predicate bounds the restarts, waits
//     (honouring ctx, which ggcr's time.Sleep would not) and logs; ggcr's
//     own backoff is zero, and its Steps only a backstop (see restarts).
func (c *Client) remoteRetry(ctx context.Context) []remote.Option {
	r := &restarts{p: &c.retry, n: map[string]int{}}
	return []remote.Option{
		// Steps counts attempts, and 0 would skip the upload altogether.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1 + 4*c.retry.retries}),
		remote.WithRetryPredicate(func(err error) bool { return r.retry(ctx, err) }),
		remote.WithRetryStatusCodes(),
	}
}

// restarts decides go-containerregistry's blob-upload restarts for one set
// of remote options. Its waits end with the context the options were made
// for.
//
// ggcr does not tell the predicate which upload failed, so n counts the
// consecutive restarts per repository, cleared when ggcr reports a
// success (of any upload or manifest PUT with these options) and when a
// restart is refused. With one upload at a time (the usual case: imgctl
// uploads one `{}` blob per marker) that is the upload's own count, and
// it is restarted at most N times. Concurrent uploads into one repository
// share the count, so a burst of failures stops them sooner, while
// successes in between let them go on; ggcr's Steps (1+4N attempts per
// upload) is the backstop. The predicate, not Steps, normally stops the
// restarts, so a restart that is logged is made; only an upload that
// reaches the backstop can be told "retrying" once more than it is.
type restarts struct {
	p  *policy
	mu sync.Mutex
	n  map[string]int // host + repository path → consecutive restarts
}

func (r *restarts) retry(ctx context.Context, err error) bool {
	if err == nil {
		r.mu.Lock()
		clear(r.n)
		r.mu.Unlock()
		return false
	}
	method, u, ok := failedRequest(err)
	reason := TransientReason(err)
	if !ok || !isUploadSession(u.Path) || reason == "" || ctx.Err() != nil {
		return false
	}
	key := u.Host + u.Path[:strings.Index(u.Path, "/blobs/uploads/")]
	r.mu.Lock()
	r.n[key]++
	n := r.n[key]
	if n > r.p.retries {
		delete(r.n, key)
	}
	r.mu.Unlock()
	if n > r.p.retries {
		return false
	}
	wait := r.p.wait(n, nil)
	r.p.logRetry(ctx, method, u, n, reason, wait)
	return sleep(ctx, wait) == nil
}

// failedRequest finds the method and URL of the request err is about.
func failedRequest(err error) (method string, u *url.URL, ok bool) {
	var te *transport.Error
	if errors.As(err, &te) && te.Request != nil && te.Request.URL != nil {
		return te.Request.Method, te.Request.URL, true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, err := url.Parse(ue.URL); err == nil {
			return strings.ToUpper(ue.Op), u, true
		}
	}
	return "", nil, false
}
