package regclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Transient reports whether err is worth retrying: the registry or the
// network failed in a way that may pass (see TransientReason).
func Transient(err error) bool { return TransientReason(err) != "" }

// TransientReason says why err is transient, in a few words for a log
// line: "HTTP 503", "connection reset by peer", "EOF", "timeout", …. It
// returns "" for an error that is not transient.
//
// Transient are: registry responses 408, 429 and 5xx except 501 and 505;
// connection resets, refusals (a registry restarting), aborts, broken
// pipes and closed connections; io.EOF and io.ErrUnexpectedEOF (a server
// that cut the connection); and network timeouts. Not transient are every
// other response (401, 403, 404, …) and context.Canceled and
// context.DeadlineExceeded: the caller gave up.
//
// An error whose type says nothing (one that crossed gRPC as text, or one
// of net/http's unexported errors) is judged by its message with
// TransientMessage.
func TransientReason(err error) string {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return statusReason(te.StatusCode)
	}
	for _, t := range transientErrors {
		if errors.Is(err, t.err) {
			return t.reason
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return messageReason(err.Error())
}

// transientErrors are the typed transient errors, most specific first.
var transientErrors = []struct {
	err    error
	reason string
}{
	{syscall.ECONNRESET, "connection reset by peer"},
	{syscall.ECONNREFUSED, "connection refused"},
	{syscall.ECONNABORTED, "connection aborted"},
	{syscall.EPIPE, "broken pipe"},
	{net.ErrClosed, "connection closed"},
	{io.ErrUnexpectedEOF, "unexpected EOF"},
	{io.EOF, "EOF"},
}

// statusReason is "HTTP <code>" for a transient registry status, else "".
func statusReason(code int) string {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests,
		code >= 500 && code <= 599 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported:
		return fmt.Sprintf("HTTP %d", code)
	}
	return ""
}

// TransientMessage reports whether an error that arrives only as text (a
// BuildKit push error after gRPC, say) is transient. It looks for the
// messages Go's net and net/http packages, go-containerregistry and
// containerd give for the failures TransientReason accepts: "connection
// reset by peer", "broken pipe", "connection refused", "unexpected EOF",
// ": EOF", "i/o timeout", "TLS handshake timeout", "server closed idle
// connection", "408 Request Timeout", "429 Too Many Requests",
// "500 Internal Server Error", "502 Bad Gateway", "503 Service
// Unavailable", "504 Gateway Timeout", and HTTP/2's GOAWAY and lost
// connections. A message that says "context canceled" is never transient.
// Callers with a typed error use Transient, which falls back to this.
func TransientMessage(msg string) bool { return messageReason(msg) != "" }

// transientPhrases are the fragments TransientMessage looks for. Where the
// reason for a log differs from the fragment, it is given too.
var transientPhrases = []struct{ phrase, reason string }{
	{"connection reset by peer", ""},
	{"broken pipe", ""},
	{"connection refused", ""},
	{"unexpected EOF", ""},
	{": EOF", "EOF"},
	{"i/o timeout", "timeout"},
	{"TLS handshake timeout", "timeout"},
	{"timeout awaiting response headers", "timeout"},
	{"server closed idle connection", ""},
	{"use of closed network connection", "connection closed"},
	{"server sent GOAWAY", ""},
	{"client connection lost", ""},
	{"408 Request Timeout", "HTTP 408"},
	{"429 Too Many Requests", "HTTP 429"},
	{"500 Internal Server Error", "HTTP 500"},
	{"502 Bad Gateway", "HTTP 502"},
	{"503 Service Unavailable", "HTTP 503"},
	{"504 Gateway Timeout", "HTTP 504"},
	// The registry's error codes as containerd (BuildKit's pusher) renders
	// them from a 429 or 503 response body.
	{"unavailable: ", "registry unavailable (UNAVAILABLE)"},
	{"toomanyrequests: ", "HTTP 429 (TOOMANYREQUESTS)"},
}

func messageReason(msg string) string {
	if strings.Contains(msg, "context canceled") {
		return ""
	}
	if msg == "EOF" {
		return "EOF"
	}
	for _, p := range transientPhrases {
		if strings.Contains(msg, p.phrase) {
			if p.reason != "" {
				return p.reason
			}
			return p.phrase
		}
	}
	return ""
}
