package readmodel

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// Remote adapts a registry client to the registry reads of plan.Observe
// (plan.Registry, plan.PlatformResolver, plan.UnlockedReader) and status.Collect
// (status.Registry).
type Remote struct{ C *regclient.Client }

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
	return &published.Manifest{Digest: m.Descriptor.Digest.String(), Annotations: m.Annotations, Platforms: m.Platforms}, nil
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
	ms, err := r.Markers(ctx, repo, digest)
	return len(ms) > 0, err
}

// Markers returns the lifecycle markers attached to repo@digest.
func (r Remote) Markers(ctx context.Context, repo, digest string) ([]lifecycle.Marker, error) {
	rp, err := r.C.Repository(repo)
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, err
	}
	opts, err := r.C.ReadOptions(ctx, rp)
	if err != nil {
		return nil, err
	}
	return lifecycle.Read(ctx, rp, h, opts...)
}

// Unlocked lists what version (of repo, built from the lock its
// annotation holds) has beyond that lock and its base, from their SBOMs
// (inventory.Unlocked): the plan's unlocked packages. None where a SBOM is
// missing: that cannot be told.
func (r Remote) Unlocked(ctx context.Context, repo string, version *published.Manifest) ([]lock.Unlocked, error) {
	l, err := lock.Parse(version.Version, []byte(version.Annotations[published.AnnotationLock]))
	if err != nil {
		return nil, err
	}
	ref, err := name.NewDigest(repo+"@"+version.Digest, name.Insecure)
	if err != nil {
		return nil, err
	}
	rd := inventory.Reader{Remote: r.C.ReadOptions}
	v, err := rd.Read(ctx, ref, inventory.Options{Packages: true})
	if err != nil {
		return nil, err
	}
	out, _, err := inventory.ReadUnlocked(ctx, rd, v, l)
	return out, err
}
