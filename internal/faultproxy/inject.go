package faultproxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// inject answers w with fault, which is not TruncateBody. For Timeout it
// closes the connection: the hold ended without an answer.
func (p *Proxy) inject(w http.ResponseWriter, r *http.Request, fault Fault) {
	switch fault {
	case Status503:
		writeError(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "faultproxy: injected 503")
	case Status429:
		w.Header().Set("Retry-After", "0")
		writeError(w, r, http.StatusTooManyRequests, "TOOMANYREQUESTS", "faultproxy: injected 429")
	case Reset:
		closeConn(w, true)
	case Timeout:
		closeConn(w, false)
	}
}

// writeError answers with status and a registry error body (the
// distribution API's {"errors": [...]}), which clients decode.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{code, message}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// closeConn closes the client's connection, with a TCP RST if rst, without
// writing anything. If the connection cannot be hijacked (HTTP/2) it aborts
// the handler instead, which resets the stream.
func closeConn(w http.ResponseWriter, rst bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if rst {
		if l, ok := conn.(interface{ SetLinger(int) error }); ok {
			_ = l.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// errTruncated stops ReverseProxy's copy of the body; it then aborts the
// handler, which closes the connection.
var errTruncated = errors.New("faultproxy: body truncated")

// truncateWriter passes the registry's response through up to half its
// Content-Length, then fails.
type truncateWriter struct {
	w       http.ResponseWriter
	limit   int64 // bytes of body to send: half the Content-Length
	written int64
	cut     bool
}

func (t *truncateWriter) Header() http.Header { return t.w.Header() }

func (t *truncateWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		t.limit = 0
		if n, err := strconv.ParseInt(t.w.Header().Get("Content-Length"), 10, 64); err == nil && n > 0 {
			t.limit = n / 2
		}
	}
	t.w.WriteHeader(code)
}

func (t *truncateWriter) Write(b []byte) (int, error) {
	if t.cut {
		return 0, errTruncated
	}
	if room := t.limit - t.written; int64(len(b)) > room {
		n, _ := t.w.Write(b[:room])
		t.written += int64(n)
		t.cutNow()
		return n, errTruncated
	}
	n, err := t.w.Write(b)
	t.written += int64(n)
	return n, err
}

func (t *truncateWriter) Flush() {
	if !t.cut {
		_ = http.NewResponseController(t.w).Flush()
	}
}

func (t *truncateWriter) Unwrap() http.ResponseWriter { return t.w }

// cutNow sends what was written so far; the connection is closed when the
// handler aborts.
func (t *truncateWriter) cutNow() {
	_ = http.NewResponseController(t.w).Flush()
	t.cut = true
}

// finish closes the connection if the body ended before the cut (short or
// empty bodies, HEAD), so the client sees the connection close either way.
// ReverseProxy itself aborts after a failed copy.
func (t *truncateWriter) finish() {
	if !t.cut {
		t.cutNow()
	}
	panic(http.ErrAbortHandler)
}

// afterWriter receives the registry's response for a Phase After rule and
// sends the fault instead (or, for a Timeout with a Delay, the response,
// late).
type afterWriter struct {
	p       *Proxy
	w       http.ResponseWriter
	r       *http.Request
	rule    Rule
	header  http.Header // the registry's headers, until passed through
	decided bool
	pass    bool // the response goes to the client after all
}

func (a *afterWriter) Header() http.Header { return a.header }

func (a *afterWriter) WriteHeader(code int) {
	if a.decided {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // interim responses are dropped
	}
	a.decided = true
	if a.rule.Fault == Timeout && a.p.hold(a.r.Context(), a.rule.Delay) {
		h := a.w.Header()
		for k, v := range a.header {
			h[k] = v
		}
		a.header = h // trailers set after the body land in the response
		a.pass = true
		a.w.WriteHeader(code)
		return
	}
	a.p.inject(a.w, a.r, a.rule.Fault)
}

func (a *afterWriter) Write(b []byte) (int, error) {
	if !a.decided {
		a.WriteHeader(http.StatusOK)
	}
	if !a.pass {
		return len(b), nil // the registry's body is read and discarded
	}
	return a.w.Write(b)
}

func (a *afterWriter) Flush() {
	if a.pass {
		_ = http.NewResponseController(a.w).Flush()
	}
}
