package regclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// referrersIndexLimit bounds a referrers answer (an index of descriptors).
const referrersIndexLimit = 4 << 20

// referrersProbe is what a client learned of one registry host: whether
// it has the referrers API (once known).
type referrersProbe struct {
	mu    sync.Mutex
	known bool
	api   bool
}

// ReferrerDescriptors lists the descriptors of the manifests referring to
// repo@digest: the referrers API's answer, or on a registry without it
// the OCI fallback index tagged sha256-<hex>. Whether a registry has the
// API is learned from its first answer and remembered for the client's
// life (a registry that has it never answers 404: distribution-spec), so
// a registry without it costs one request per subject, not two;
// concurrent first callers wait for that answer.
//
// listed, when not nil, is the repository's tag list as the caller just
// read it: on a registry without the API a subject whose fallback tag is
// not listed has no referrers, and no request is made. A subject without
// referrers, or whose fallback index is gone, has none.
func (c *Client) ReferrerDescriptors(ctx context.Context, repo, digest string, listed []string) ([]v1.Descriptor, error) {
	r, err := c.Repository(repo)
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %q in %s: not a digest", digest, repo)
	}
	pv, _ := c.referrersAPI.LoadOrStore(r.RegistryStr(), &referrersProbe{})
	p := pv.(*referrersProbe)
	p.mu.Lock()
	known, api := p.known, p.api
	if known {
		p.mu.Unlock()
	}
	if !known || api {
		descs, ok, err := c.askReferrersAPI(ctx, r, h)
		if !known {
			if err == nil {
				p.known, p.api = true, ok
			}
			p.mu.Unlock()
		}
		if err != nil || ok {
			return descs, err
		}
	}
	tag := strings.Replace(h.String(), ":", "-", 1)
	if listed != nil && !slices.Contains(listed, tag) {
		return nil, nil
	}
	opts, err := c.ReadOptions(ctx, r)
	if err != nil {
		return nil, c.fail("listing referrers", r, err)
	}
	desc, err := remote.Get(r.Tag(tag), opts...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("listing referrers of "+digest, r, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, c.fail("listing referrers of "+digest, r, err)
	}
	return im.Manifests, nil
}

// askReferrersAPI asks the referrers API for subject's referrers; ok is
// false when the registry has no such API (it answered 404, 400 or 406,
// or not with an OCI index: go-containerregistry's rule).
func (c *Client) askReferrersAPI(ctx context.Context, r name.Repository, subject v1.Hash) (_ []v1.Descriptor, ok bool, _ error) {
	t, err := c.transport(ctx, r, false)
	if err != nil {
		return nil, false, c.fail("listing referrers", r, err)
	}
	u := fmt.Sprintf("%s://%s/v2/%s/referrers/%s", r.Scheme(), r.RegistryStr(), r.RepositoryStr(), subject)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, false, c.fail("listing referrers of "+subject.String(), r, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable); err != nil {
		return nil, false, c.fail("listing referrers of "+subject.String(), r, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != string(types.OCIImageIndex) {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, false, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, referrersIndexLimit))
	if err != nil {
		return nil, false, c.fail("listing referrers of "+subject.String(), r, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, false, c.fail("listing referrers of "+subject.String(), r, err)
	}
	return im.Manifests, true, nil
}
