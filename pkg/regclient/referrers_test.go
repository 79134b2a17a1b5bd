package regclient_test

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
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// TestReferrerDescriptorsRequests: a registry without the referrers API is
// asked once per client, then only fallback tags are read, and none at
// all for a subject whose fallback tag the caller's tag list lacks; a
// registry with the API answers each subject in one request.
func TestReferrerDescriptorsRequests(t *testing.T) {
	for _, api := range []bool{false, true} {
		t.Run(map[bool]string{false: "fallback tags", true: "referrers API"}[api], func(t *testing.T) {
			srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(api), registry.Logger(log.New(io.Discard, "", 0))))
			defer srv.Close()
			repo := strings.TrimPrefix(srv.URL, "http://") + "/a/b"
			marked := push(t, repo+":1", mustRandom(t))
			plain := push(t, repo+":2", mustRandom(t))
			// A referrer of marked, as imgctl writes a lifecycle marker:
			// go-containerregistry updates the fallback index when the
			// registry has no referrers API.
			desc, err := partial.Descriptor(marked)
			require.NoError(t, err)
			art := mutate.Subject(mutate.MediaType(mutate.ConfigMediaType(empty.Image, "application/vnd.example+json"), types.OCIManifestSchema1), *desc).(v1.Image)
			ad, err := art.Digest()
			require.NoError(t, err)
			push(t, repo+"@"+ad.String(), art)
			md, _ := marked.Digest()
			pd, _ := plain.Digest()

			var cnt regclient.Counter
			c := regclient.New(regclient.WithCounter(&cnt))
			ctx := context.Background()
			tags, err := c.ListTags(ctx, repo)
			require.NoError(t, err)
			start := cnt.Requests()
			got, err := c.ReferrerDescriptors(ctx, repo, md.String(), tags)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, ad, got[0].Digest)
			first := cnt.Requests() - start
			got, err = c.ReferrerDescriptors(ctx, repo, pd.String(), tags)
			require.NoError(t, err)
			assert.Empty(t, got)
			second := cnt.Requests() - start - first
			got, err = c.ReferrerDescriptors(ctx, repo, md.String(), nil)
			require.NoError(t, err)
			assert.Len(t, got, 1, "without a tag list the fallback tag is read")
			if api {
				assert.Equal(t, int64(1), first, "the API answers")
				assert.Equal(t, int64(1), second, "the API answers")
			} else {
				assert.Equal(t, int64(2), first, "the API's 404, then the fallback tag")
				assert.Equal(t, int64(0), second, "no fallback tag listed, no API: nothing to ask")
			}
		})
	}
}

func mustRandom(t *testing.T) v1.Image {
	img, err := random.Image(10, 1)
	require.NoError(t, err)
	return img
}

func push(t *testing.T, ref string, img v1.Image) v1.Image {
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img))
	return img
}
