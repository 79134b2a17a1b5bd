package faultproxy_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

// upstream is go-containerregistry's in-process registry behind a handler
// that records every request reaching it, to prove what the proxy did or
// did not forward.
type upstream struct {
	addr string

	mu   sync.Mutex
	reqs []string // "METHOD PATH"
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, r.Method+" "+r.URL.Path)
		u.mu.Unlock()
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	u.addr = strings.TrimPrefix(s.URL, "http://")
	return u
}

// count counts the requests the registry received.
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// seen counts the requests with method whose path matches pathRE.
func (u *upstream) seen(method, pathRE string) int {
	re := regexp.MustCompile(pathRE)
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, r := range u.reqs {
		m, p, _ := strings.Cut(r, " ")
		if m == method && re.MatchString(p) {
			n++
		}
	}
	return n
}

// noRetry turns off go-containerregistry's retries, so a test sees each
// injected fault.
var noRetry = []remote.Option{
	remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	remote.WithRetryStatusCodes(),
	remote.WithRetryPredicate(func(error) bool { return false }),
}

// freshConns is a client without keep-alives: Go's transport does not
// silently retry a request on a new connection after a reset of a reused
// one.
var freshConns = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func randomImage(t *testing.T) v1.Image {
	img, err := random.Image(64<<10, 2)
	require.NoError(t, err)
	return img
}

func tagAt(t *testing.T, addr, repo string) name.Tag {
	tag, err := name.NewTag(addr+"/"+repo, name.Insecure)
	require.NoError(t, err)
	return tag
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

// get sends method to http://addr+path with c and returns the response
// with its body read.
func get(t *testing.T, c *http.Client, method, addr, path string) (*http.Response, []byte) {
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// readImage reads the image's config and every layer; go-containerregistry
// checks each blob against its digest as it is read.
func readImage(img v1.Image) error {
	if _, err := img.RawConfigFile(); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
