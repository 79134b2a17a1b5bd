package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// Registry is the registry access the mirror needs: *regclient.Client.
type Registry interface {
	// Head resolves ref; an absent one wraps published.ErrNotFound.
	Head(ctx context.Context, ref string) (v1.Descriptor, error)
	// Copy copies the manifest src and all it references to dst, byte
	// for byte.
	Copy(ctx context.Context, src, dst string) error
	// Referrers lists the digests of the manifests referring to repo@digest.
	Referrers(ctx context.Context, repo, digest string) ([]string, error)
	// Tag points repo:tag at repo@digest.
	Tag(ctx context.Context, repo, tag, digest string) error
}

var _ Registry = (*regclient.Client)(nil)

// ArtifactSuffixes are the cosign tag suffixes copied with a base:
// sha256-<hex>.sig (signatures), .att (attestations), .sbom.
var ArtifactSuffixes = []string{".sig", ".att", ".sbom"}

// Mirror copies external bases into one mirror prefix.
type Mirror struct {
	// Prefix is policy.mirror: HOST[:PORT]/PREFIX.
	Prefix   string
	Registry Registry
	Log      *slog.Logger
}

// Copied says what Copy did for one base.
type Copied struct {
	// Upstream is the upstream reference in full (host, path, tag or digest).
	Upstream string `json:"upstream"`
	// Mirror is the copy: PREFIX/<path>@<digest>.
	Mirror string `json:"mirror"`
	// Digest is the copy's (and the upstream's) digest.
	Digest string `json:"digest"`
	// Present says the manifest was already in the mirror (not copied).
	Present bool `json:"present"`
	// Artifacts counts the signatures, attestations and referrers copied
	// by this call.
	Artifacts int `json:"artifacts"`
	// Tag is the mirror's record of the upstream tag (PREFIX/<path>:<tag>),
	// "" for a base named by digest alone.
	Tag string `json:"tag,omitempty"`
	// Gone says upstream could not be read (unreachable or the tag gone):
	// the copy is the mirror's, found through its tag. Warning says so.
	Gone    bool   `json:"gone,omitempty"`
	Warning string `json:"warning,omitempty"`
}

// Ref is the mirror reference of upstream (a tag or digest reference):
// PREFIX/<path> with upstream's tag, or its digest when it has one.
func Ref(prefix, upstream string) (string, error) {
	u, err := published.ParseUpstream(upstream)
	if err != nil {
		return "", err
	}
	if u.Digest != "" {
		return u.MirrorRepository(prefix) + "@" + u.Digest, nil
	}
	return u.MirrorRepository(prefix) + ":" + u.Tag, nil
}

// Sync mirrors upstream as it is now: it resolves upstream (a reference
// with a digest needs no read) and copies that digest (Copy). When
// upstream cannot be resolved, the mirror's record of its tag stands in:
// nothing is copied, and the result is Gone with a warning naming both.
func (m *Mirror) Sync(ctx context.Context, upstream string) (Copied, error) {
	u, err := published.ParseUpstream(upstream)
	if err != nil {
		return Copied{}, err
	}
	digest := u.Digest
	if digest == "" {
		d, err := m.Registry.Head(ctx, u.String())
		if err != nil {
			return m.fromMirror(ctx, u, err)
		}
		digest = d.Digest.String()
	}
	return m.Copy(ctx, upstream, digest)
}

// fromMirror answers for an upstream that could not be resolved: the
// digest the mirror's tag records, or the upstream error with the
// mirror's.
func (m *Mirror) fromMirror(ctx context.Context, u published.Upstream, upErr error) (Copied, error) {
	repo := u.MirrorRepository(m.Prefix)
	tag := repo + ":" + u.Tag
	d, err := m.Registry.Head(ctx, tag)
	if err != nil {
		return Copied{}, fmt.Errorf("resolving %s: %w (and the mirror has no copy: %v)", u, upErr, err)
	}
	ref := repo + "@" + d.Digest.String()
	c := Copied{Upstream: u.String(), Mirror: ref, Digest: d.Digest.String(), Present: true, Tag: tag, Gone: true, Warning: published.MirrorGoneWarning(u.String(), ref)}
	m.logger().Warn(c.Warning, "error", upErr)
	return c, nil
}

// Copy copies upstream's manifest digest (every platform: the index
// with all its children) to PREFIX/<path>@digest unless it is there,
// then the upstream's signatures, attestations and referrers the mirror
// lacks, then records upstream's tag in the mirror repository. When the
// copy was already there, failing to read upstream's artifacts is a
// warning (upstream may be gone), not an error.
func (m *Mirror) Copy(ctx context.Context, upstream, digest string) (Copied, error) {
	u, err := published.ParseUpstream(upstream)
	if err != nil {
		return Copied{}, err
	}
	if _, err := v1.NewHash(digest); err != nil {
		return Copied{}, fmt.Errorf("mirroring %s: %q is not a digest", upstream, digest)
	}
	src, dst := u.Repository(), u.MirrorRepository(m.Prefix)
	c := Copied{Upstream: u.String(), Mirror: dst + "@" + digest, Digest: digest}
	switch _, err := m.Registry.Head(ctx, c.Mirror); {
	case err == nil:
		c.Present = true
	case !errors.Is(err, published.ErrNotFound):
		return c, fmt.Errorf("reading the mirror %s: %w", c.Mirror, err)
	default:
		if err := m.Registry.Copy(ctx, src+"@"+digest, c.Mirror); err != nil {
			return c, fmt.Errorf("copying %s@%s to the mirror: %w", src, digest, err)
		}
		m.logger().Info("mirrored", "upstream", c.Upstream, "mirror", c.Mirror)
	}
	n, err := m.artifacts(ctx, src, dst, digest)
	c.Artifacts = n
	if err != nil {
		if !c.Present {
			return c, err
		}
		c.Warning = fmt.Sprintf("signatures and attestations of upstream %s not checked: %v", c.Upstream, err)
		m.logger().Warn(c.Warning)
	}
	if u.Tag != "" && u.Digest == "" {
		c.Tag = dst + ":" + u.Tag
		if err := m.record(ctx, dst, u.Tag, digest); err != nil {
			return c, err
		}
	}
	return c, nil
}

// artifacts copies the cosign tags and the referrers of src@digest that
// dst lacks, and counts them.
func (m *Mirror) artifacts(ctx context.Context, src, dst, digest string) (int, error) {
	n := 0
	prefix := strings.Replace(digest, ":", "-", 1)
	for _, suffix := range ArtifactSuffixes {
		tag := prefix + suffix
		switch _, err := m.Registry.Head(ctx, dst+":"+tag); {
		case err == nil:
			continue // the mirror's: never overwritten
		case !errors.Is(err, published.ErrNotFound):
			return n, fmt.Errorf("reading the mirror %s:%s: %w", dst, tag, err)
		}
		switch _, err := m.Registry.Head(ctx, src+":"+tag); {
		case errors.Is(err, published.ErrNotFound):
			continue
		case err != nil:
			return n, fmt.Errorf("reading %s:%s: %w", src, tag, err)
		}
		if err := m.Registry.Copy(ctx, src+":"+tag, dst+":"+tag); err != nil {
			return n, fmt.Errorf("copying %s:%s to the mirror: %w", src, tag, err)
		}
		n++
	}
	refs, err := m.Registry.Referrers(ctx, src, digest)
	if err != nil {
		return n, fmt.Errorf("listing the referrers of %s@%s: %w", src, digest, err)
	}
	for _, r := range refs {
		switch _, err := m.Registry.Head(ctx, dst+"@"+r); {
		case err == nil:
			continue
		case !errors.Is(err, published.ErrNotFound):
			return n, fmt.Errorf("reading the mirror %s@%s: %w", dst, r, err)
		}
		// Pushed with its subject: the mirror's referrers API, or the
		// fallback index the registry client keeps, lists it.
		if err := m.Registry.Copy(ctx, src+"@"+r, dst+"@"+r); err != nil {
			return n, fmt.Errorf("copying referrer %s@%s to the mirror: %w", src, r, err)
		}
		n++
	}
	return n, nil
}

// record points the mirror's tag (the upstream tag's name, in the mirror
// repository) at digest, when it points elsewhere or nowhere.
func (m *Mirror) record(ctx context.Context, repo, tag, digest string) error {
	d, err := m.Registry.Head(ctx, repo+":"+tag)
	switch {
	case err == nil && d.Digest.String() == digest:
		return nil
	case err != nil && !errors.Is(err, published.ErrNotFound):
		return fmt.Errorf("reading the mirror's tag %s:%s: %w", repo, tag, err)
	}
	if err := m.Registry.Tag(ctx, repo, tag, digest); err != nil {
		return fmt.Errorf("recording %s:%s in the mirror: %w", repo, tag, err)
	}
	return nil
}

func (m *Mirror) logger() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.New(slog.DiscardHandler)
}
