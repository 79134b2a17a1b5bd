package faultproxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"time"
)

// Proxy is a reverse proxy to one registry that injects faults by its
// current rules. It is an http.Handler; all its methods are safe for
// concurrent use.
type Proxy struct {
	target    *url.URL
	seed      uint64
	rp        *httputil.ReverseProxy
	transport *http.Transport
	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	rules    []*rule
	requests int
	faults   int
	log      []Event
}

var _ http.Handler = (*Proxy)(nil)

// rule is a Rule in force, with its compiled path, its own random source
// and its counters.
type rule struct {
	Rule
	path             *regexp.Regexp
	rng              *rand.Rand
	matched, faulted int
}

// Option configures a Proxy made by [New].
type Option func(*Proxy)

// WithSeed seeds the random source that [Rule.Rate] draws from. Each rule
// of a [Proxy.SetRules] call gets its own source, seeded with the seed and
// the rule's index, so whether the n-th request matching a rule is faulted
// depends only on the seed, the rules and n, and setting the same rules
// again starts the same sequence over. The default is 1.
func WithSeed(seed uint64) Option {
	return func(p *Proxy) { p.seed = seed }
}

// New returns a proxy to the registry at target, its base URL (scheme and
// host, e.g. http://127.0.0.1:5000; a path is put in front of every request
// path). It has no rules: it passes every request through until
// [Proxy.SetRules]. Call [Proxy.Close] when done, or use [Start].
func New(target *url.URL, opts ...Option) *Proxy {
	p := &Proxy{
		target: target,
		seed:   1,
		closed: make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	// A transport of its own, so Close can drop its connections, straight
	// to the registry (no HTTP_PROXY), and without transparent gzip, so
	// bodies and their lengths pass unchanged.
	p.transport = http.DefaultTransport.(*http.Transport).Clone()
	p.transport.Proxy = nil
	p.transport.DisableCompression = true
	p.rp = &httputil.ReverseProxy{
		// No X-Forwarded-* headers: the registry sees requests as if made
		// to it directly, and builds its absolute URLs with its own host,
		// which modifyResponse rewrites.
		Rewrite:        func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:      p.transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.proxyError,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	return p
}

// SetRules replaces the proxy's rules, atomically: each request is judged
// by either the old rules or the new ones. Their counters start at zero.
// It panics if a rule is invalid (unknown Fault or Phase, Rate outside
// [0, 1], negative Count or Delay, or a Path that does not compile), as
// regexp.MustCompile does: rules are written in tests.
func (p *Proxy) SetRules(rules ...Rule) {
	rs := make([]*rule, len(rules))
	for i, r := range rules {
		re, err := r.compile()
		if err != nil {
			panic(fmt.Sprintf("faultproxy: rule %d (%s): %v", i, r, err))
		}
		rs[i] = &rule{Rule: r, path: re, rng: rand.New(rand.NewPCG(p.seed, uint64(i)))}
	}
	p.mu.Lock()
	p.rules = rs
	p.mu.Unlock()
}

// Clear removes all rules: from now on every request is passed through.
// It keeps the request count and the log.
func (p *Proxy) Clear() { p.SetRules() }

// Close releases requests held by [Timeout] rules (their connections are
// closed) and closes idle connections to the registry. It does not stop a
// server serving the proxy. The proxy still serves requests afterwards,
// but Timeout rules close their connections at once instead of holding
// them.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
	p.transport.CloseIdleConnections()
}

// decision is what decide chose for one request.
type decision struct {
	event int // index into p.log
	rule  Rule
}

// decide counts the request, finds the rule that fires on it, if any, and
// logs it.
func (p *Proxy) decide(r *http.Request) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	ev := Event{Method: r.Method, Path: r.URL.Path, Rule: -1}
	var d decision
	for i, cr := range p.rules {
		if (cr.Method != "" && cr.Method != r.Method) || !cr.path.MatchString(r.URL.Path) {
			continue
		}
		cr.matched++
		if cr.Count > 0 && cr.faulted >= cr.Count {
			continue
		}
		if cr.Rate > 0 && cr.Rate < 1 && cr.rng.Float64() >= cr.Rate {
			continue
		}
		cr.faulted++
		p.faults++
		ev.Rule, ev.Fault, ev.Phase = i, cr.Fault, cr.Phase
		if cr.Fault == TruncateBody {
			ev.Phase = After
		}
		d.rule = cr.Rule
		break
	}
	d.event = len(p.log)
	p.log = append(p.log, ev)
	return d
}

// note updates the log entry of the request with context ctx.
func (p *Proxy) note(ctx context.Context, f func(*Event)) {
	ri, ok := ctx.Value(infoKey{}).(*requestInfo)
	if !ok {
		return
	}
	p.mu.Lock()
	f(&p.log[ri.event])
	p.mu.Unlock()
}

// infoKey is the context key of a request's *requestInfo.
type infoKey struct{}

// requestInfo is what the ReverseProxy hooks need to know about the
// client's request.
type requestInfo struct {
	origin *url.URL // the proxy as the client addressed it: scheme and host
	event  int
}

// ServeHTTP forwards r to the registry or injects the fault of the first
// rule that fires on it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := p.decide(r)
	origin := &url.URL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		origin.Scheme = "https"
	}
	ctx := context.WithValue(r.Context(), infoKey{}, &requestInfo{origin: origin, event: d.event})
	r = r.WithContext(ctx)

	switch {
	case d.rule.Fault == 0:
		p.rp.ServeHTTP(w, r)
	case d.rule.Fault == TruncateBody:
		tw := &truncateWriter{w: w}
		p.rp.ServeHTTP(tw, r)
		tw.finish()
	case d.rule.Phase == After:
		aw := &afterWriter{p: p, w: w, r: r, rule: d.rule, header: http.Header{}}
		p.rp.ServeHTTP(aw, r)
	default:
		if d.rule.Fault == Timeout && p.hold(ctx, d.rule.Delay) {
			p.rp.ServeHTTP(w, r)
			return
		}
		p.inject(w, r, d.rule.Fault)
	}
}

// hold waits until delay has passed (if positive), ctx ends or the proxy is
// closed, and reports whether the delay passed.
func (p *Proxy) hold(ctx context.Context, delay time.Duration) bool {
	var elapsed <-chan time.Time
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		elapsed = t.C
	}
	select {
	case <-elapsed:
		return true
	case <-ctx.Done():
		return false
	case <-p.closed:
		return false
	}
}

// modifyResponse points the registry's absolute URLs at the proxy and logs
// the registry's status.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	ri, ok := resp.Request.Context().Value(infoKey{}).(*requestInfo)
	if !ok {
		return nil
	}
	rewriteHeaders(resp.Header, p.target, ri.origin)
	p.note(resp.Request.Context(), func(e *Event) { e.Status = resp.StatusCode })
	return nil
}

// proxyError logs a failure to reach the registry and answers 502, unless
// the client has gone.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	p.note(r.Context(), func(e *Event) { e.Err = err.Error() })
	if r.Context().Err() != nil {
		return
	}
	writeError(w, r, http.StatusBadGateway, "UNKNOWN", "faultproxy: reaching the registry: "+err.Error())
}
