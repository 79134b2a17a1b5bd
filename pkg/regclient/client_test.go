package regclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/regclient"
)

func TestRetriesOn5xxAnd429(t *testing.T) {
	reg := registry.New()
	var fails atomic.Int32
	fails.Store(3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/tags/list") && fails.Add(-1) >= 0 {
			code := http.StatusServiceUnavailable
			if fails.Load() == 1 {
				code = http.StatusTooManyRequests
			}
			w.WriteHeader(code)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(10, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(host + "/a/b:2026.11.01")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))

	var cnt regclient.Counter
	c := regclient.New(regclient.WithCounter(&cnt))
	tags, err := c.ListTags(context.Background(), host+"/a/b")
	require.NoError(t, err)
	assert.Equal(t, []string{"2026.11.01"}, tags)
	// The handshake (ggcr pings https, then http, on loopback), then 3
	// failures and the success.
	assert.Equal(t, int64(2+4), cnt.Requests())

	// The handshake is shared by every repository of the registry: one
	// request for the next listing.
	_, err = c.ListTags(context.Background(), host+"/a/other")
	require.NoError(t, err)
	assert.Equal(t, int64(2+4+1), cnt.Requests())
}

func TestErrorsNameRegistryAndRepository(t *testing.T) {
	// A refused connection is retried (registries restart); one retry
	// keeps this test short.
	c := regclient.New(regclient.WithRetries(1))
	_, err := c.ListTags(context.Background(), "127.0.0.1:1/datasci/python3")
	require.Error(t, err)
	assert.Equal(t, "listing tags of datasci/python3 on registry 127.0.0.1:1: unreachable: dial tcp 127.0.0.1:1: connect: connection refused", err.Error())

	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	defer denied.Close()
	host := strings.TrimPrefix(denied.URL, "http://")
	_, err = c.ListTags(context.Background(), host+"/datasci/python3")
	require.Error(t, err)
	assert.Equal(t, "listing tags of datasci/python3 on registry "+host+": access denied (HTTP 403): check credentials in the Docker config", err.Error())
}

func TestMissingRepositoryHasNoTags(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	tags, err := regclient.New().ListTags(context.Background(), strings.TrimPrefix(srv.URL, "http://")+"/nothing/here")
	require.NoError(t, err)
	assert.Empty(t, tags)
}

// TestManifestReadByDigestOnce: a manifest read at its tag is not read
// again by digest (content-addressed: the bytes cannot differ), GET or
// HEAD; a tag is always read again (tags move).
func TestManifestReadByDigestOnce(t *testing.T) {
	reg := registry.New()
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(10, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(host + "/a/b:2026.11.01")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)

	var cnt regclient.Counter
	c := regclient.New(regclient.WithCounter(&cnt), regclient.WithManifestCache())
	ctx := context.Background()
	m, err := c.Get(ctx, host+"/a/b:2026.11.01")
	require.NoError(t, err)
	require.Equal(t, d.String(), m.Descriptor.Digest.String())
	n := cnt.Requests()
	again, err := c.Get(ctx, host+"/a/b@"+d.String())
	require.NoError(t, err)
	assert.Equal(t, m.Raw, again.Raw)
	h, err := c.Head(ctx, host+"/a/b@"+d.String())
	require.NoError(t, err)
	assert.Equal(t, d, h.Digest)
	assert.Equal(t, n, cnt.Requests(), "by digest: from the cache")
	_, err = c.Get(ctx, host+"/a/b:2026.11.01")
	require.NoError(t, err)
	assert.Equal(t, n+1, cnt.Requests(), "a tag is read again")
	_, err = c.Get(ctx, host+"/other/repo@"+d.String())
	require.Error(t, err, "another repository is asked, not answered from the cache")

	r, err := name.NewDigest(host+"/a/b@"+d.String(), name.Insecure)
	require.NoError(t, err)
	opts, err := c.ReadOptions(ctx, r.Context())
	require.NoError(t, err)
	require.NoError(t, remote.Delete(r, opts...), "through the client's transport")
	_, err = c.Head(ctx, host+"/a/b@"+d.String())
	require.ErrorIs(t, err, regclient.ErrNotFound, "a manifest the client deleted is not answered from the cache")
}

// TestNoManifestCacheByDefault: a client without WithManifestCache (one
// that writes: publish, prune) reads a manifest by digest every time.
func TestNoManifestCacheByDefault(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(10, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(host + "/a/b:2026.11.01")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)
	var cnt regclient.Counter
	c := regclient.New(regclient.WithCounter(&cnt))
	ctx := context.Background()
	_, err = c.Get(ctx, host+"/a/b:2026.11.01")
	require.NoError(t, err)
	n := cnt.Requests()
	_, err = c.Head(ctx, host+"/a/b@"+d.String())
	require.NoError(t, err)
	assert.Equal(t, n+1, cnt.Requests())
}
