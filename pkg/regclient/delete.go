package regclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BuildKit's annotation on the attestation manifests of an index.
const (
	attestationTypeKey = "vnd.docker.reference.type"
	attestationType    = "attestation-manifest"
)

// ErrDeleteDisabled is returned when a registry refuses to delete
// manifests at all (distribution with storage.delete.enabled: false
// answers 405 UNSUPPORTED).
var ErrDeleteDisabled = errors.New("the registry does not allow deleting manifests")

// ErrTagDeleteUnsupported is returned by Untag when a registry deletes
// manifests by digest only (distribution 2.8 removes a manifest's tags with
// the manifest).
var ErrTagDeleteUnsupported = errors.New("the registry does not delete tags by name")

// probeDigest is a digest no manifest has (the digest of nothing imgctl
// ever writes), deleted to learn whether a registry deletes at all.
const probeDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// CheckDelete reports whether repo's registry deletes manifests: it asks
// to delete a manifest that does not exist, which a registry that deletes
// answers 404 and one that does not 405. Nothing is deleted. It returns
// nil, an error wrapping ErrDeleteDisabled, or the failure.
func (c *Client) CheckDelete(ctx context.Context, repo string) error {
	r, err := c.Repository(repo)
	if err != nil {
		return err
	}
	err = c.deleteRef(ctx, r, probeDigest)
	switch {
	case err == nil, isNotFound(err):
		return nil
	case deleteRefused(err):
		return fmt.Errorf("registry %s (repository %s): %w (distribution: set storage.delete.enabled: true); nothing was deleted", r.RegistryStr(), r.RepositoryStr(), ErrDeleteDisabled)
	}
	return c.fail("checking that deletes are allowed", r, err)
}

// Delete deletes the manifest with digest from repo. Distribution removes
// the tags that point at it too; other registries (go-containerregistry's)
// keep them until Untag. A manifest that is already gone is ErrNotFound.
func (c *Client) Delete(ctx context.Context, repo, digest string) error {
	r, err := c.Repository(repo)
	if err != nil {
		return err
	}
	if _, err := v1.NewHash(digest); err != nil {
		return fmt.Errorf("deleting %q from %s: not a digest", digest, repo)
	}
	err = c.deleteRef(ctx, r, digest)
	switch {
	case err == nil:
		return nil
	case deleteRefused(err):
		return fmt.Errorf("deleting %s from %s: %w", digest, r.Name(), ErrDeleteDisabled)
	}
	return c.fail("deleting manifest "+digest, r, err)
}

// Untag deletes tag from repo (OCI: DELETE of the manifest by tag). A tag
// that is already gone is ErrNotFound; a registry that deletes by digest
// only answers ErrTagDeleteUnsupported.
func (c *Client) Untag(ctx context.Context, repo, tag string) error {
	r, err := c.Repository(repo)
	if err != nil {
		return err
	}
	err = c.deleteRef(ctx, r, tag)
	switch {
	case err == nil:
		return nil
	case isUnsupportedTagDelete(err):
		return fmt.Errorf("deleting tag %s of %s: %w", tag, r.Name(), ErrTagDeleteUnsupported)
	}
	return c.fail("deleting tag "+tag, r, err)
}

func (c *Client) deleteRef(ctx context.Context, r name.Repository, ref string) error {
	opts, err := c.WriteOptions(ctx, r)
	if err != nil {
		return err
	}
	var target name.Reference = r.Tag(ref)
	if _, err := v1.NewHash(ref); err == nil {
		target = r.Digest(ref)
	}
	return remote.Delete(target, opts...)
}

// deleteRefused: 405, or the UNSUPPORTED error code.
func deleteRefused(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.UnsupportedErrorCode {
			return true
		}
	}
	return false
}

// isUnsupportedTagDelete: distribution 2.8 answers a DELETE by tag with
// 400 DIGEST_INVALID (or 405 when deletes are off altogether).
func isUnsupportedTagDelete(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if deleteRefused(err) {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.DigestInvalidErrorCode {
			return true
		}
	}
	return te.StatusCode == http.StatusBadRequest
}

// Referrers lists the digests of the manifests referring to repo@digest
// (ReferrerDescriptors). A subject without referrers, or whose fallback
// index is gone, has none.
func (c *Client) Referrers(ctx context.Context, repo, digest string) ([]string, error) {
	descs, err := c.ReferrerDescriptors(ctx, repo, digest, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range descs {
		out = append(out, d.Digest.String())
	}
	return out, nil
}

// PutArtifact writes raw, an OCI image manifest whose config and layers
// are all the empty blob `{}` (an artifact that carries annotations only),
// to repo under tag: the blob first (a HEAD when present), then the
// manifest. Writing the same bytes again changes nothing.
func (c *Client) PutArtifact(ctx context.Context, repo, tag string, raw []byte) error {
	r, err := c.Repository(repo)
	if err != nil {
		return err
	}
	opts, err := c.WriteOptions(ctx, r)
	if err != nil {
		return err
	}
	if err := remote.WriteLayer(r, static.NewLayer([]byte("{}"), types.OCIEmptyJSON), opts...); err != nil {
		return c.fail("uploading the empty blob", r, err)
	}
	if err := remote.Put(r.Tag(tag), rawOCIManifest(raw), opts...); err != nil {
		return c.fail("writing "+tag, r, err)
	}
	return nil
}

// rawOCIManifest hands manifest bytes to remote.Put as they are.
type rawOCIManifest []byte

func (r rawOCIManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawOCIManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
