package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Read returns the lifecycle markers attached to subject in repo, sorted by
// Date, then Digest. It lists the referrers (through the referrers API, or
// the `sha256-<hex>` fallback tag on registries without it), keeps those
// whose artifactType is ArtifactType, and reads each marker manifest, so the
// annotations returned are the manifest's own rather than a registry's copy.
// A subject with no referrers yields an empty slice and no error; a listed
// entry whose manifest is gone (a fallback index outliving the markers an
// interrupted prune deleted) is skipped.
func Read(ctx context.Context, repo name.Repository, subject v1.Hash, opts ...remote.Option) ([]Marker, error) {
	descs, err := referrers(repo, subject, withContext(ctx, opts))
	if err != nil {
		return nil, err
	}
	return FromReferrers(ctx, repo, subject, descs, opts...)
}

// FromReferrers is Read for a subject whose referrers the caller already
// listed (descs, as the referrers API or the fallback index gave them).
func FromReferrers(ctx context.Context, repo name.Repository, subject v1.Hash, descs []v1.Descriptor, opts ...remote.Option) ([]Marker, error) {
	opts = withContext(ctx, opts)
	var out []Marker
	for _, d := range descs {
		// Entries without an artifactType (written by tools that do not
		// copy it into a fallback index) are fetched and checked too.
		if d.ArtifactType != "" && d.ArtifactType != ArtifactType {
			continue
		}
		if !d.MediaType.IsImage() {
			continue
		}
		got, err := remote.Get(repo.Digest(d.Digest.String()), opts...)
		if isManifestUnknown(err) {
			// Listed in a fallback index, gone from the registry: a prune
			// deleted the marker and was interrupted before the index.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading lifecycle marker %s: %w", d.Digest, err)
		}
		m, ok, err := parseMarker(got.Manifest, d.Digest, subject)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Marker) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Digest.String(), b.Digest.String()))
	})
	return out, nil
}

// isManifestUnknown reports a 404 or MANIFEST_UNKNOWN answer.
func isManifestUnknown(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
}

// referrers lists the descriptors referring to subject in repo, unfiltered.
func referrers(repo name.Repository, subject v1.Hash, opts []remote.Option) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(repo.Digest(subject.String()), opts...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s in %s: %w", subject, repo, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s in %s: %w", subject, repo, err)
	}
	return im.Manifests, nil
}

// isReferrer reports whether digest is listed as a referrer of subject.
func isReferrer(repo name.Repository, subject, digest v1.Hash, opts []remote.Option) (bool, error) {
	descs, err := referrers(repo, subject, opts)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(descs, func(d v1.Descriptor) bool { return d.Digest == digest }), nil
}

// withContext returns a copy of opts with ctx appended; the caller's slice
// is not modified.
func withContext(ctx context.Context, opts []remote.Option) []remote.Option {
	return append(slices.Clip(opts), remote.WithContext(ctx))
}
