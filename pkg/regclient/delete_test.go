package regclient_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// Deleting on go-containerregistry's registry: by digest the manifest
// goes and its tag stays until deleted by name; what is gone is
// ErrNotFound. Artifacts written by PutArtifact read back.
func TestDeleteAndUntag(t *testing.T) {
	ctx := context.Background()
	repo := e2etest.InProcessRegistry(t, true) + "/d/img"
	c := regclient.New()
	require.NoError(t, c.CheckDelete(ctx, repo))
	img, err := random.Image(16, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(repo+":v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)

	refs, err := c.Referrers(ctx, repo, d.String())
	require.NoError(t, err)
	assert.Empty(t, refs)

	require.NoError(t, c.Delete(ctx, repo, d.String()))
	assert.ErrorIs(t, c.Delete(ctx, repo, d.String()), regclient.ErrNotFound)
	require.NoError(t, c.Untag(ctx, repo, "v1"))
	assert.ErrorIs(t, c.Untag(ctx, repo, "v1"), regclient.ErrNotFound)
	tags, err := c.ListTags(ctx, repo)
	require.NoError(t, err)
	assert.Empty(t, tags)

	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"a":"b"}}`)
	require.NoError(t, c.PutArtifact(ctx, repo, "x", raw))
	m, err := c.Get(ctx, repo+":x")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "b"}, m.Annotations)
}

// Debian's distribution with deletes disabled answers 405: CheckDelete
// says so, naming the registry; with deletes enabled it is fine, and
// a tag cannot be deleted by name.
func TestCheckDeleteDistribution(t *testing.T) {
	ctx := context.Background()
	c := regclient.New()
	off := e2etest.Registry(t)
	err := c.CheckDelete(ctx, off+"/d/img")
	require.ErrorIs(t, err, regclient.ErrDeleteDisabled)
	assert.Contains(t, err.Error(), "registry "+off+" (repository d/img)")

	on, _ := e2etest.RegistryWith(t, e2etest.RegistryOptions{Delete: true})
	require.NoError(t, c.CheckDelete(ctx, on+"/d/img"))
	img, err := random.Image(16, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(on+"/d/img:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	assert.ErrorIs(t, c.Untag(ctx, on+"/d/img", "v1"), regclient.ErrTagDeleteUnsupported)
	d, _ := img.Digest()
	require.NoError(t, c.Delete(ctx, on+"/d/img", d.String()))
	tags, err := c.ListTags(ctx, on+"/d/img")
	require.NoError(t, err)
	assert.Empty(t, tags, "the tag went with its manifest")
}
