package readmodel

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"golang.org/x/sync/errgroup"
)

// Remote adapts a registry client to the registry reads of plan.Observe
// (plan.Registry, plan.PlatformResolver, plan.UnlockedReader) and status.Collect
// (status.Registry).
type Remote struct {
	C *regclient.Client
	// Cache, when set, keeps the platforms read for Unlocked (SBOMs)
	// across images: a parent's newest version is its child's base.
	Cache *inventory.Cache
}

// ListTags lists a repository's tags.
func (r Remote) ListTags(ctx context.Context, repo string) ([]string, error) {
	return r.C.ListTags(ctx, repo)
}

// Manifest fetches the manifest or index at ref.
func (r Remote) Manifest(ctx context.Context, ref string) (*published.Manifest, error) {
	m, err := r.C.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &published.Manifest{Digest: m.Descriptor.Digest.String(), Annotations: m.Annotations, Platforms: m.Platforms, Manifests: m.Children}, nil
}

// Resolve returns the digest ref points at (a HEAD).
func (r Remote) Resolve(ctx context.Context, ref string) (string, error) {
	d, err := r.C.Head(ctx, ref)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

// Platforms resolves ref and lists the platforms it provides.
func (r Remote) Platforms(ctx context.Context, ref string) (string, []string, error) {
	return r.C.Platforms(ctx, ref)
}

// Marked reports whether repo@digest has a lifecycle marker.
func (r Remote) Marked(ctx context.Context, repo, digest string) (bool, error) {
	ms, err := r.Markers(ctx, repo, digest, nil)
	return len(ms) > 0, err
}

// Markers returns the lifecycle markers attached to repo@digest. tags,
// when not nil, is repo's tag list as the caller read it: on a registry
// without the referrers API a version whose fallback tag is not listed
// has no markers and costs no request (regclient.ReferrerDescriptors).
func (r Remote) Markers(ctx context.Context, repo, digest string, tags []string) ([]lifecycle.Marker, error) {
	rp, err := r.C.Repository(repo)
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, err
	}
	descs, err := r.C.ReferrerDescriptors(ctx, repo, digest, tags)
	if err != nil || len(descs) == 0 {
		return nil, err
	}
	opts, err := r.C.ReadOptions(ctx, rp)
	if err != nil {
		return nil, err
	}
	return lifecycle.FromReferrers(ctx, rp, h, descs, opts...)
}

// Unlocked lists what version (of repo, built from the lock its
// annotation holds) has beyond that lock and its base, from their SBOMs
// (inventory.Unlocked): the plan's unlocked packages. The version and its
// base are read at once, and what versions share (a parent's newest is
// its child's base) once per Remote. None where a SBOM is missing: that
// cannot be told.
func (r Remote) Unlocked(ctx context.Context, repo string, version *published.Manifest) ([]lock.Unlocked, error) {
	l, err := lock.Parse(version.Version, []byte(version.Annotations[published.AnnotationLock]))
	if err != nil {
		return nil, err
	}
	ref, err := name.NewDigest(repo+"@"+version.Digest, name.Insecure)
	if err != nil {
		return nil, err
	}
	baseRef, rootfs, err := published.BaseOf(version.Annotations)
	if err != nil {
		return nil, err
	}
	rd := inventory.Reader{Remote: r.C.ReadOptions}
	o := inventory.Options{Packages: true, Cache: r.Cache}
	var v, base *inventory.Version
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		v, err = rd.Read(gctx, ref, o)
		return err
	})
	switch {
	case rootfs:
		base = &inventory.Version{} // a root filesystem archive has no SBOM
	case baseRef != "":
		bref, err := name.NewDigest(baseRef, name.Insecure)
		if err != nil {
			return nil, err
		}
		g.Go(func() (err error) {
			if base, err = rd.Read(gctx, bref, o); err != nil {
				return fmt.Errorf("reading the base %s: %w", baseRef, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out, _ := inventory.Unlocked(v, base, l)
	return out, nil
}
