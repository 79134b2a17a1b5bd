package regclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// recorder serves go-containerregistry's registry, which declines mounts
// (202, an upload session), and records "METHOD path?query" of every
// request; with mounts it answers them as distribution does: 201.
type recorder struct {
	mu     sync.Mutex
	reqs   []string
	mounts bool
	next   http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.RequestURI())
	mounts := r.mounts
	r.mu.Unlock()
	if mounts && req.Method == http.MethodPost && req.URL.Query().Get("mount") != "" {
		w.WriteHeader(http.StatusCreated)
		return
	}
	r.next.ServeHTTP(w, req)
}

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.reqs {
		if strings.HasPrefix(q, prefix) {
			n++
		}
	}
	return n
}

// TestMountLayers: every layer of an index's image manifests is mounted
// into the destination with one POST each (no upload, no attestation
// manifest's layers); a registry that declines the first mount gets its
// upload session cancelled and no further mount; another registry's
// source mounts nothing.
func TestMountLayers(t *testing.T) {
	rec := &recorder{next: registry.New(), mounts: true}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	a, err := random.Image(100, 3)
	require.NoError(t, err)
	b, err := random.Image(100, 2)
	require.NoError(t, err)
	empty, err := random.Index(0, 0, 0)
	require.NoError(t, err)
	idx := mutate.AppendManifests(empty,
		mutate.IndexAddendum{Add: a, Descriptor: descFor(t, a, "amd64")},
		mutate.IndexAddendum{Add: b, Descriptor: descFor(t, b, "arm64")})
	ref, err := name.ParseReference(host + "/lib/parent:v")
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	src := host + "/lib/parent@" + d.String()
	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()

	c := regclient.New()
	ctx := context.Background()
	n, err := c.MountLayers(ctx, src, host+"/lib/imgctl-cache/child")
	require.NoError(t, err)
	assert.Equal(t, 5, n, "3 + 2 layers")
	assert.Equal(t, 5, rec.count("POST /v2/lib/imgctl-cache/child/blobs/uploads/?from=lib%2Fparent&mount=sha256%3A"))
	assert.Zero(t, rec.count("PUT /v2/lib/imgctl-cache/child/blobs/"), "nothing uploaded")
	assert.Zero(t, rec.count("PATCH "), "nothing uploaded")

	rec.mu.Lock()
	rec.mounts, rec.reqs = false, nil
	rec.mu.Unlock()
	n, err = c.MountLayers(ctx, src, host+"/lib/imgctl-cache/other")
	require.NoError(t, err, "a declined mount is no error")
	assert.Zero(t, n)
	assert.Equal(t, 1, rec.count("POST /v2/lib/imgctl-cache/other/blobs/uploads/"), "not asked again")
	assert.Equal(t, 1, rec.count("DELETE /v2/lib/imgctl-cache/other/blobs/uploads/"), "the session it opened is cancelled")

	n, err = c.MountLayers(ctx, src, "127.0.0.2:1/lib/imgctl-cache/child")
	require.NoError(t, err)
	assert.Zero(t, n, "no mount across registries")
}

// descFor is img's descriptor in an index, for linux/arch.
func descFor(t *testing.T, img v1.Image, arch string) v1.Descriptor {
	t.Helper()
	mt, err := img.MediaType()
	require.NoError(t, err)
	return v1.Descriptor{MediaType: mt, Platform: &v1.Platform{OS: "linux", Architecture: arch}}
}
