package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// registryEnv is one registry implementation the contract suite runs
// against.
type registryEnv struct {
	host string // 127.0.0.1:PORT, plain HTTP
	// referrersAPI is whether the registry serves
	// GET /v2/<repo>/referrers/<digest>; without it markers are listed in
	// the `sha256-<hex>` fallback index tag.
	referrersAPI bool
	// skopeo enables the checks made with the skopeo CLI.
	skopeo bool
}

type envCase struct {
	name  string
	start func(t *testing.T) registryEnv
}

func environments() []envCase {
	return []envCase{
		{"ggcr-referrers", func(t *testing.T) registryEnv { return startGGCR(t, true) }},
		{"ggcr-fallback", func(t *testing.T) registryEnv { return startGGCR(t, false) }},
		{"distribution-2.8", startDistribution},
	}
}

func startGGCR(t *testing.T, referrers bool) registryEnv {
	t.Helper()
	return registryEnv{host: e2etest.InProcessRegistry(t, referrers), referrersAPI: referrers}
}

// startDistribution runs Debian's distribution 2.8 for the test.
func startDistribution(t *testing.T) registryEnv {
	t.Helper()
	return registryEnv{host: e2etest.Registry(t), skopeo: true}
}

func (e registryEnv) repo(t *testing.T, path string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(e.host+"/"+path, name.Insecure)
	require.NoError(t, err)
	return r
}

// pushImage pushes a small random image tagged tag and returns its
// descriptor.
func pushImage(t *testing.T, repo name.Repository, tag string) v1.Descriptor {
	t.Helper()
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	require.NoError(t, remote.Write(repo.Tag(tag), img))
	d, err := remote.Head(repo.Tag(tag))
	require.NoError(t, err)
	return *d
}

// manifestAt returns the raw manifest bytes and digest tag currently points
// to, read without ggcr.
func manifestAt(t *testing.T, repo name.Repository, tag string) (raw []byte, digest string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v2/%s/manifests/%s", repo.RegistryStr(), repo.RepositoryStr(), tag), nil)
	require.NoError(t, err)
	req.Header.Set("Accept", strings.Join([]string{
		string(types.OCIManifestSchema1), string(types.OCIImageIndex),
		string(types.DockerManifestSchema2), string(types.DockerManifestList),
	}, ","))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	require.NoError(t, err)
	return raw, h.String()
}

// rawReferrers lists the referrers of subject with plain HTTP, independent
// of ggcr's client: GET /v2/<repo>/referrers/<digest> on registries with
// the referrers API, else the fallback index tag sha256-<hex> (absent = no
// referrers).
func rawReferrers(t *testing.T, e registryEnv, repo name.Repository, subject v1.Hash) []v1.Descriptor {
	t.Helper()
	base := fmt.Sprintf("http://%s/v2/%s", e.host, repo.RepositoryStr())
	u := base + "/referrers/" + subject.String()
	if !e.referrersAPI {
		u = base + "/manifests/" + fallbackTag(subject)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if !e.referrersAPI && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", u)
	require.Equal(t, string(types.OCIImageIndex), resp.Header.Get("Content-Type"))
	var im v1.IndexManifest
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&im))
	require.Equal(t, types.OCIImageIndex, im.MediaType)
	return im.Manifests
}

// putRaw PUTs manifest bytes under ref with plain HTTP, as a writer outside
// this package would.
func putRaw(t *testing.T, repo name.Repository, ref string, mt types.MediaType, raw []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/%s/manifests/%s", repo.RegistryStr(), repo.RepositoryStr(), ref), bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "PUT %s: %s", ref, body)
}

// skopeoTags lists repo's tags with skopeo, an independent client.
func skopeoTags(t *testing.T, repo name.Repository) []string {
	t.Helper()
	out := e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+repo.String())
	var res struct{ Tags []string }
	require.NoError(t, json.Unmarshal(out, &res))
	return res.Tags
}

// clobberTransport simulates another process that read the fallback index
// before our write: for the next n writes of the fallback tag, it PUTs
// stale bytes back over it, either right after the write or, with
// afterRead, right after the next read of the tag (so our first check sees
// the entry and only a later one can notice it is gone).
type clobberTransport struct {
	base      http.RoundTripper
	tag       string
	stale     []byte
	afterRead bool

	mu    sync.Mutex
	n     int
	armed bool
}

func (c *clobberTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/manifests/"+c.tag) {
		return resp, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return resp, nil
	}
	switch {
	case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated && !c.afterRead:
		c.n--
		return resp, c.clobber(req)
	case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
		c.armed = true
	case req.Method == http.MethodGet && resp.StatusCode == http.StatusOK && c.armed:
		c.armed = false
		c.n--
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, c.clobber(req)
	}
	return resp, nil
}

func (c *clobberTransport) clobber(req *http.Request) error {
	stale, err := http.NewRequestWithContext(req.Context(), http.MethodPut, req.URL.String(), bytes.NewReader(c.stale))
	if err != nil {
		return err
	}
	stale.Header.Set("Content-Type", string(types.OCIImageIndex))
	resp, err := c.base.RoundTrip(stale)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("clobbering %s: status %d", c.tag, resp.StatusCode)
	}
	return nil
}
