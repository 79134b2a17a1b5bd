package regclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/assert"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// netErr is how net/http reports a socket error: *url.Error around
// *net.OpError around *os.SyscallError.
func netErr(op string, errno syscall.Errno) error {
	return &url.Error{Op: "Get", URL: "https://r/v2/a/tags/list", Err: &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}}
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		reason string // "" = permanent
	}{
		{"nil", nil, ""},
		{"503", &transport.Error{StatusCode: http.StatusServiceUnavailable}, "HTTP 503"},
		{"500", &transport.Error{StatusCode: http.StatusInternalServerError}, "HTTP 500"},
		{"502 wrapped", fmt.Errorf("writing tag: %w", &transport.Error{StatusCode: http.StatusBadGateway}), "HTTP 502"},
		{"504", &transport.Error{StatusCode: http.StatusGatewayTimeout}, "HTTP 504"},
		{"429", &transport.Error{StatusCode: http.StatusTooManyRequests}, "HTTP 429"},
		{"408", &transport.Error{StatusCode: http.StatusRequestTimeout}, "HTTP 408"},
		{"501", &transport.Error{StatusCode: http.StatusNotImplemented}, ""},
		{"401", &transport.Error{StatusCode: http.StatusUnauthorized}, ""},
		{"403", &transport.Error{StatusCode: http.StatusForbidden}, ""},
		{"404", &transport.Error{StatusCode: http.StatusNotFound, Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}}, ""},
		{"400", &transport.Error{StatusCode: http.StatusBadRequest}, ""},
		{"connection reset", netErr("read", syscall.ECONNRESET), "connection reset by peer"},
		{"connection refused", netErr("dial", syscall.ECONNREFUSED), "connection refused"},
		{"broken pipe", netErr("write", syscall.EPIPE), "broken pipe"},
		{"EOF", &url.Error{Op: "Put", URL: "https://r/v2/a/manifests/v1", Err: io.EOF}, "EOF"},
		{"unexpected EOF", fmt.Errorf("reading manifest: %w", io.ErrUnexpectedEOF), "unexpected EOF"},
		{"i/o timeout", &url.Error{Op: "Get", URL: "https://r/v2/", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}}, "timeout"},
		{"DNS timeout", &net.DNSError{Err: "timeout", Name: "r", IsTimeout: true}, "timeout"},
		{"server closed idle connection (untyped in net/http)", &url.Error{Op: "Post", URL: "https://r/token", Err: errors.New("http: server closed idle connection")}, "server closed idle connection"},
		{"caller cancelled", &url.Error{Op: "Get", URL: "https://r/v2/", Err: context.Canceled}, ""},
		{"caller's deadline (a net.Error with Timeout)", &url.Error{Op: "Get", URL: "https://r/v2/", Err: context.DeadlineExceeded}, ""},
		{"cancelled while reset", errors.Join(context.Canceled, netErr("read", syscall.ECONNRESET)), ""},
		{"no such host", &url.Error{Op: "Get", URL: "https://r/v2/", Err: &net.DNSError{Err: "no such host", Name: "r", IsNotFound: true}}, ""},
		{"certificate", errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"), ""},
		{"plain HTTP refused", errors.New("refusing plain HTTP to r:5000: pass --insecure-registry r:5000 if that registry has no TLS"), ""},
		{"text only (gRPC)", errors.New(`failed to push r/a:v1: failed to do request: Put "https://r/v2/a/blobs/uploads/x": read tcp 10.0.0.2:5000: read: connection reset by peer`), "connection reset by peer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.reason, regclient.TransientReason(tc.err))
			assert.Equal(t, tc.reason != "", regclient.Transient(tc.err))
		})
	}
}

func TestTransientMessage(t *testing.T) {
	for msg, want := range map[string]bool{
		`failed to push r/a:v1: failed to do request: Put "https://r/v2/a/blobs/uploads/x": read: connection reset by peer`: true,
		`failed to copy: write tcp 10.0.0.1:4711->10.0.0.2:443: write: broken pipe`:                                         true,
		`dial tcp 10.0.0.2:5000: connect: connection refused`:                                                               true,
		`failed to copy: httpReadSeeker: failed open: unexpected EOF`:                                                       true,
		`Put "https://r/v2/a/manifests/v1": EOF`:                                                                            true,
		`EOF`:                                                                                                               true,
		`dial tcp: lookup r: i/o timeout`:                                                                                   true,
		`net/http: TLS handshake timeout`:                                                                                   true,
		`net/http: timeout awaiting response headers`:                                                                       true,
		`Post "https://r/token": http: server closed idle connection`:                                                       true,
		`unexpected status from PUT request to https://r/v2/a/manifests/v1: 503 Service Unavailable`:                        true,
		`unexpected status: 502 Bad Gateway`:                                                                                true,
		`unexpected status: 504 Gateway Timeout`:                                                                            true,
		`unexpected status: 500 Internal Server Error`:                                                                      true,
		`unexpected status from HEAD request: 429 Too Many Requests`:                                                        true,
		`unexpected status: 408 Request Timeout`:                                                                            true,
		`http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR`:                             true,
		`failed to solve: failed to push r/a: unavailable: the registry is in read-only mode`:                               true,
		`failed to push r/a: toomanyrequests: rate limit exceeded`:                                                          true,
		`error writing config blob: failed commit on ref "sha256:8a9a": failed to do request: Put "http://r/v2/a/blobs/uploads/x": readfrom tcp 127.0.0.1:58870->127.0.0.1:39475: write tcp 127.0.0.1:58870->127.0.0.1:39475: use of closed network connection`: true,
		`failed to push r/a: unauthorized: authentication required`:                              false,
		`unexpected status from PUT request to https://r/v2/a/manifests/v1: 401 Unauthorized`:    false,
		`unexpected status: 403 Forbidden`:                                                       false,
		`r/a:v1: not found`:                                                                      false,
		`failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2`: false,
		`rpc error: code = Canceled desc = context canceled`:                                     false,
		`read: connection reset by peer: context canceled`:                                       false,
		`EOFError in user code`:                                                                  false,
		``:                                                                                       false,
	} {
		assert.Equal(t, want, regclient.TransientMessage(msg), msg)
	}
}
