package regclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// manifestCacheLimit bounds the bytes a client's manifest cache holds (an
// index is a few KiB: tens of thousands of manifests fit).
const manifestCacheLimit = 64 << 20

// manifestCache (WithManifestCache) answers manifest reads by digest from
// the manifests this client already fetched, by tag or by digest. A manifest is
// content-addressed: the bytes of REPO@sha256:D never change, so within one
// command a second read of the same digest (status read the index at its
// tag, the catalog's contents read it again by digest; a child's base is
// its parent's latest) needs no request. Tags are never answered from it:
// they move. Entries are keyed by host and repository, the way the
// registry authorised the first read; a body whose bytes do not hash to
// the digest the registry stated is not kept, and a manifest this client
// deletes is forgotten.
type manifestCache struct {
	inner http.RoundTripper
	mu    sync.Mutex
	m     map[string]cachedManifest // "host/repo@sha256:…"
	size  int
}

type cachedManifest struct {
	mediaType string
	body      []byte
}

// manifestPath splits /v2/REPO/manifests/REF.
func manifestPath(path string) (repo, ref string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/manifests/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+len("/manifests/"):], true
}

func (c *manifestCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete {
		// This client deletes it (imgctl prune): it is gone, not cached.
		if repo, ref, ok := manifestPath(req.URL.Path); ok {
			c.mu.Lock()
			key := req.URL.Host + "/" + repo + "@" + ref
			if m, hit := c.m[key]; hit {
				c.size -= len(m.body)
				delete(c.m, key)
			}
			c.mu.Unlock()
		}
		return c.inner.RoundTrip(req)
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return c.inner.RoundTrip(req)
	}
	repo, ref, ok := manifestPath(req.URL.Path)
	if !ok {
		return c.inner.RoundTrip(req)
	}
	byDigest := strings.HasPrefix(ref, "sha256:")
	if byDigest {
		c.mu.Lock()
		m, hit := c.m[req.URL.Host+"/"+repo+"@"+ref]
		c.mu.Unlock()
		if hit {
			return m.response(req, ref), nil
		}
	}
	resp, err := c.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK ||
		resp.ContentLength > manifestCacheLimit/16 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, manifestCacheLimit/16+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > manifestCacheLimit/16 {
		return resp, nil // not kept; given back whole
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if stated := resp.Header.Get("Docker-Content-Digest"); stated != "" && stated != digest || byDigest && ref != digest {
		return resp, nil // let the caller's own check report it
	}
	c.mu.Lock()
	key := req.URL.Host + "/" + repo + "@" + digest
	if _, dup := c.m[key]; !dup && c.size+len(body) <= manifestCacheLimit {
		if c.m == nil {
			c.m = map[string]cachedManifest{}
		}
		c.m[key] = cachedManifest{mediaType: resp.Header.Get("Content-Type"), body: body}
		c.size += len(body)
	}
	c.mu.Unlock()
	return resp, nil
}

// response is the registry's answer to req for the cached manifest.
func (m cachedManifest) response(req *http.Request, digest string) *http.Response {
	h := http.Header{}
	h.Set("Content-Type", m.mediaType)
	h.Set("Docker-Content-Digest", digest)
	h.Set("Content-Length", strconv.Itoa(len(m.body)))
	body := m.body
	if req.Method == http.MethodHead {
		body = nil
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(m.body)), Request: req,
	}
}
