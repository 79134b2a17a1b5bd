package vulndb_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/vulndb"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
)

func TestArtifactRoundTrip(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	dir := t.TempDir()
	vulndbtest.Write(t, dir, records...)
	archives, err := vulndb.ReadDir(dir)
	require.NoError(t, err)
	want, err := vulndb.Load(archives)
	require.NoError(t, err)
	img, err := vulndb.Artifact(archives, want)
	require.NoError(t, err)
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/ds/imgctl-vulndb:latest", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))

	got, err := vulndb.Pull(context.Background(), ref)
	require.NoError(t, err)
	assert.Equal(t, want.Digest, got.Digest, "the same archives")
	assert.Equal(t, want.Records, got.Records)
	ms, err := got.Matches(vulndb.Package{Ecosystem: "Debian:12", Name: "jq", Version: "1.6-2.1"})
	require.NoError(t, err)
	require.Len(t, ms, 1)

	m, err := remote.Get(ref)
	require.NoError(t, err)
	assert.Contains(t, string(m.Manifest), `"mediaType":"application/vnd.imgctl.vulndb.v1+json"`)
	assert.Contains(t, string(m.Manifest), `"org.opencontainers.image.title":"PyPI/all.zip"`)

	// Something else under the name is refused.
	other, _ := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/ds/other:latest", name.Insecure)
	require.NoError(t, remote.Write(other, mustRandom(t)))
	_, err = vulndb.Pull(context.Background(), other)
	assert.ErrorContains(t, err, "is not an imgctl vulnerability feed")
}

func mustRandom(t *testing.T) v1.Image {
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	return img
}
