package regclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// MountLayers makes the layer blobs of the image or index src
// (REPO@DIGEST; an index's image manifests, not its attestations) present
// in the repository dst of the same registry by cross-repository blob
// mounts (distribution-spec: POST /v2/DST/blobs/uploads/?mount=D&from=SRC),
// which copy no data. It returns how many blobs were mounted or already
// there. A registry that declines a mount (202: it opened an upload
// session instead) gets that session cancelled and is not asked for the
// other blobs; nothing is ever uploaded. A src on another registry mounts
// nothing.
//
// It is an optimisation for writers that are about to push the same
// layers into dst, such as BuildKit's registry cache export, which uploads
// every layer it does not find there (it does not mount).
func (c *Client) MountLayers(ctx context.Context, src, dst string) (int, error) {
	s, err := name.NewDigest(src, c.nameOptions(src)...)
	if err != nil {
		return 0, err
	}
	d, err := c.Repository(dst)
	if err != nil {
		return 0, err
	}
	if s.Context().RegistryStr() != d.RegistryStr() {
		return 0, nil
	}
	layers, err := c.layersOf(ctx, s)
	if err != nil {
		return 0, err
	}
	t, err := c.transport(ctx, d, true)
	if err != nil {
		return 0, c.fail("authenticating for push", d, err)
	}
	cl := &http.Client{Transport: t}
	// The first alone: a registry that declines it (no cross-repository
	// mounts, or not from src) is not asked for the others, which then go
	// a few at a time.
	if len(layers) == 0 {
		return 0, nil
	}
	ok, err := mountBlob(ctx, cl, d, s.Context(), layers[0])
	if err != nil || !ok {
		return 0, c.failMount(layers[0], d, err)
	}
	var n atomic.Int32
	n.Add(1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, l := range layers[1:] {
		g.Go(func() error {
			ok, err := mountBlob(gctx, cl, d, s.Context(), l)
			if ok {
				n.Add(1)
			}
			return c.failMount(l, d, err)
		})
	}
	err = g.Wait()
	return int(n.Load()), err
}

// failMount is nil for a nil err, else the client's error for mounting
// blob into d.
func (c *Client) failMount(blob string, d name.Repository, err error) error {
	if err == nil {
		return nil
	}
	return c.fail("mounting blob "+blob, d, err)
}

// layersOf lists the layer digests of the image or index at ref, sorted,
// each once: an index's image manifests, by Get's rule for attestations.
func (c *Client) layersOf(ctx context.Context, ref name.Digest) ([]string, error) {
	top, err := c.Get(ctx, ref.String())
	if err != nil {
		return nil, err
	}
	raws := [][]byte{top.Raw}
	if top.Descriptor.MediaType.IsIndex() {
		raws = nil
		for _, ch := range top.Children {
			if ch.Attestation || ch.Platform == "" {
				continue
			}
			m, err := c.Get(ctx, ref.Context().Digest(ch.Digest).String())
			if err != nil {
				return nil, err
			}
			raws = append(raws, m.Raw)
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, raw := range raws {
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing a manifest of %s: %w", ref, err)
		}
		for _, l := range m.Layers {
			if d := l.Digest.String(); !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// mountBlob asks the registry to mount digest from src into dst: true
// when it did (201; also when dst had it already). false when it declined
// (202, an upload session opened instead, which is cancelled: nothing is
// left half-open in the registry).
func mountBlob(ctx context.Context, cl *http.Client, dst, src name.Repository, digest string) (bool, error) {
	u := url.URL{Scheme: dst.Scheme(), Host: dst.RegistryStr(), Path: "/v2/" + dst.RepositoryStr() + "/blobs/uploads/",
		RawQuery: url.Values{"mount": {digest}, "from": {src.RepositoryStr()}}.Encode()}
	resp, err := send(ctx, cl, http.MethodPost, u.String())
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusAccepted:
		if loc, err := resp.Location(); err == nil {
			_, _ = send(ctx, cl, http.MethodDelete, loc.String()) // best effort
		}
		return false, nil
	default:
		return false, fmt.Errorf("POST %s: %s", u.Redacted(), resp.Status)
	}
}

// send sends a request without a body and returns the response with its
// body read and closed.
func send(ctx context.Context, cl *http.Client, method, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}
