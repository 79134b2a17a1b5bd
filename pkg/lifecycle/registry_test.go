package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// distributionBin is Debian's distribution 2.8 (package docker-registry).
const distributionBin = "/usr/bin/docker-registry"

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
	srv := httptest.NewServer(registry.New(
		registry.Logger(log.New(io.Discard, "", 0)),
		registry.WithReferrersSupport(referrers),
	))
	t.Cleanup(srv.Close)
	return registryEnv{host: strings.TrimPrefix(srv.URL, "http://"), referrersAPI: referrers}
}

// startDistribution runs distribution 2.8 on a free loopback port with its
// storage in a temporary directory, and stops it when the test ends.
func startDistribution(t *testing.T) registryEnv {
	t.Helper()
	if _, err := os.Stat(distributionBin); err != nil {
		t.Skipf("%s not installed", distributionBin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
`, filepath.Join(dir, "data"), addr), 0o644))

	var out lockedBuffer
	cmd := exec.Command(distributionBin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("distribution output:\n%s", out.String())
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("distribution did not answer on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return registryEnv{host: addr, skopeo: true}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "skopeo", "list-tags", "--tls-verify=false", "docker://"+repo.String()).Output()
	require.NoError(t, err, "skopeo list-tags: %s", out)
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
