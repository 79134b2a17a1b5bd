package faultproxy

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Fault is what a rule does to a request it fires on.
type Fault int

// The faults. The zero Fault means none: an [Event] with Fault 0 is a
// request that was passed through.
const (
	// Status503 answers 503 Service Unavailable with a registry error body
	// (code UNAVAILABLE).
	Status503 Fault = iota + 1
	// Status429 answers 429 Too Many Requests with "Retry-After: 0" and a
	// registry error body (code TOOMANYREQUESTS).
	Status429
	// Reset closes the client's connection with a TCP RST before any
	// response byte, without reading the rest of the request body: a
	// client still sending an upload sees its write fail. Note that Go's
	// http.Transport silently retries an idempotent request (GET, HEAD)
	// once on a new connection when a reused one is reset, so a test that
	// must see the reset either lets the rule fire on the retry too (no
	// Count) or uses a client without keep-alives.
	Reset
	// TruncateBody forwards the request, sends the registry's status and
	// headers and the first half of the body (by Content-Length; none if
	// the length is unknown) and then closes the connection: the client
	// reads an unexpected EOF. It always forwards the request, so Phase
	// does not apply to it. For HEAD and empty bodies the client gets the
	// whole response and then sees the connection close.
	TruncateBody
	// Timeout holds the request without answering until the client gives
	// up (the request's context ends) or the proxy is closed, and then
	// closes the connection. With a positive [Rule.Delay] it answers after
	// Delay instead, normally: a slow registry rather than a dead one.
	// While a client is still sending a request body, the server cannot
	// notice it leaving, so a hung upload ends at Delay or [Proxy.Close].
	Timeout
)

// String returns the fault's name as used in [Stats] output.
func (f Fault) String() string {
	switch f {
	case 0:
		return "pass"
	case Status503:
		return "503"
	case Status429:
		return "429"
	case Reset:
		return "reset"
	case TruncateBody:
		return "truncate-body"
	case Timeout:
		return "timeout"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Phase says when a rule's fault is injected.
type Phase int

const (
	// Before injects the fault instead of forwarding the request: the
	// registry never sees it.
	Before Phase = iota
	// After forwards the request first, so a write lands in the registry,
	// and then faults the response to the client: the registry's response
	// is read and discarded and the client gets the 503, 429 or reset, or
	// with Timeout waits (and gets the registry's response after Delay).
	After
)

// String returns "before" or "after".
func (p Phase) String() string {
	switch p {
	case Before:
		return "before"
	case After:
		return "after"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Rule chooses requests and the fault to inject into them. Rules are
// checked in order; the first one that matches a request and fires
// (by Rate and Count) faults it, and a request no rule fires on is passed
// through.
type Rule struct {
	// Method is the HTTP method the rule matches, exactly ("PUT"). The
	// default ("") matches any method.
	Method string
	// Path is a regular expression (package regexp) matched against the
	// request's URL path, without the query, e.g. `/manifests/latest$` or
	// `/blobs/uploads/`. The default ("") matches every path.
	Path string
	// Rate is the probability, 0 < Rate <= 1, that the rule fires on a
	// matching request, drawn from the proxy's seeded source (see
	// [WithSeed]). The default (0) means 1: every match.
	Rate float64
	// Fault is what the rule does. It is required.
	Fault Fault
	// Count limits how many faults the rule injects; after that it
	// passes its matches on to later rules. The default (0) is no limit.
	Count int
	// Phase is when the fault is injected. The default is [Before].
	Phase Phase
	// Delay is how long a [Timeout] rule holds a request before
	// answering it normally. The default (0) holds it until the client
	// gives up. Other faults ignore it.
	Delay time.Duration
}

// String describes the rule briefly, e.g. "PUT /manifests/ 503 after
// rate=0.5 count=1".
func (r Rule) String() string {
	var b strings.Builder
	m, p := r.Method, r.Path
	if m == "" {
		m = "*"
	}
	if p == "" {
		p = "*"
	}
	fmt.Fprintf(&b, "%s %s %s", m, p, r.Fault)
	if r.Phase != Before {
		fmt.Fprintf(&b, " %s", r.Phase)
	}
	if r.Rate != 0 && r.Rate != 1 {
		fmt.Fprintf(&b, " rate=%g", r.Rate)
	}
	if r.Count != 0 {
		fmt.Fprintf(&b, " count=%d", r.Count)
	}
	if r.Delay != 0 {
		fmt.Fprintf(&b, " delay=%s", r.Delay)
	}
	return b.String()
}

// compile checks r and compiles its Path.
func (r Rule) compile() (*regexp.Regexp, error) {
	if r.Fault < Status503 || r.Fault > Timeout {
		return nil, fmt.Errorf("unknown fault %d", int(r.Fault))
	}
	if r.Phase != Before && r.Phase != After {
		return nil, fmt.Errorf("unknown phase %d", int(r.Phase))
	}
	if !(r.Rate >= 0 && r.Rate <= 1) { // also rejects NaN
		return nil, fmt.Errorf("rate %g is not within [0, 1]", r.Rate)
	}
	if r.Count < 0 {
		return nil, fmt.Errorf("negative count %d", r.Count)
	}
	if r.Delay < 0 {
		return nil, fmt.Errorf("negative delay %s", r.Delay)
	}
	re, err := regexp.Compile(r.Path)
	if err != nil {
		return nil, fmt.Errorf("compiling path: %w", err)
	}
	return re, nil
}
