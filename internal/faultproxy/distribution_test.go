package faultproxy_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/internal/faultproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDistribution runs the proxy in front of Debian's docker-registry,
// which answers uploads with absolute Location URLs of its own host.
func TestDistribution(t *testing.T) {
	reg := e2etest.Registry(t)
	p, addr := e2etest.FaultProxy(t, reg)
	img := randomImage(t)

	// A push through the proxy stays on it: the uploads' PATCH and PUT
	// follow rewritten Locations.
	require.NoError(t, remote.Write(tagAt(t, addr, "d/img:v1"), img, noRetry...))
	uploads := 0
	for _, e := range p.Stats().Log {
		if (e.Method == http.MethodPatch || e.Method == http.MethodPut) && len(e.Path) > len("/v2/d/img/blobs/uploads/") {
			uploads++
		}
	}
	assert.GreaterOrEqual(t, uploads, 3, "uploads of config and 2 layers went through the proxy\n%s", p.Stats())

	direct, err := remote.Head(tagAt(t, reg, "d/img:v1"), noRetry...)
	require.NoError(t, err)
	via, err := remote.Head(tagAt(t, addr, "d/img:v1"), noRetry...)
	require.NoError(t, err)
	assert.Equal(t, direct, via)
	got, err := remote.Image(tagAt(t, addr, "d/img:v1"), noRetry...)
	require.NoError(t, err)
	require.NoError(t, readImage(got))

	// A manifest PUT that lands but is answered 503, then repeated.
	p.SetRules(faultproxy.Rule{Method: http.MethodPut, Path: "/manifests/", Fault: faultproxy.Status503, Phase: faultproxy.After, Count: 1})
	err = remote.Write(tagAt(t, addr, "d/img:v2"), img, noRetry...)
	var terr *transport.Error
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, http.StatusServiceUnavailable, terr.StatusCode)
	d, err := remote.Head(tagAt(t, reg, "d/img:v2"), noRetry...)
	require.NoError(t, err, "the write landed")
	assert.Equal(t, digest(t, img), d.Digest)
	require.NoError(t, remote.Write(tagAt(t, addr, "d/img:v2"), img, noRetry...))

	// A reset upload never reaches the registry; a cut blob is noticed.
	p.SetRules(
		faultproxy.Rule{Method: http.MethodPatch, Path: "/blobs/uploads/", Fault: faultproxy.Reset, Count: 1},
		faultproxy.Rule{Method: http.MethodGet, Path: "/blobs/sha256:", Fault: faultproxy.TruncateBody},
	)
	err = remote.Write(tagAt(t, addr, "d/other:v1"), randomImage(t), noRetry...)
	assert.True(t, isConnError(err), "want a connection error, got %v", err)
	got, err = remote.Image(tagAt(t, addr, "d/img:v1"), noRetry...)
	require.NoError(t, err)
	assert.ErrorIs(t, readImage(got), io.ErrUnexpectedEOF)
	s := p.Stats()
	assert.Equal(t, 1, s.Rules[0].Faulted, s)
	assert.Equal(t, 1, s.Rules[1].Faulted, s)
}
