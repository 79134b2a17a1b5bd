package sbom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/client"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// Binary is the scanner executable's file name, and ImagePath where it is
// in the scanner image (its entrypoint).
const (
	Binary    = "imgctl-sbom-scanner"
	ImagePath = "/" + Binary
)

// TagPrefix starts the tag of every scanner image imgctl pushes.
const TagPrefix = "sbom-scanner-"

// Platforms are the platforms the scanner can be built for: BuildKit runs
// the generator on the worker's own (native) platform, so a scanner needs
// the platforms of the daemons that build, not those of the images.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// Registry is what Ensure needs of a registry client.
type Registry interface {
	Head(ctx context.Context, ref string) (v1.Descriptor, error)
	Tag(ctx context.Context, repo, tag, digest string) error
}

// Builder builds and pushes the scanner image.
type Builder interface {
	BuildBinary(ctx context.Context, bi build.BinaryImage, status chan *client.SolveStatus) (build.Result, error)
	// Capabilities names the platforms the daemons run on (Native):
	// BuildKit runs the scanner there.
	Capabilities(ctx context.Context) (build.Capabilities, error)
}

var (
	_ Registry = (*regclient.Client)(nil)
	_ Builder  = (*build.Client)(nil)
)

// Local is a scanner built on this machine, one binary per platform.
type Local struct {
	// Binaries maps a platform to its executable's absolute path.
	Binaries map[string]string
	// Tag is TagPrefix and a hash of the binaries: the same binaries give
	// the same tag, other binaries another.
	Tag string
}

// FindLocal finds the scanner binaries in dir (dir/linux_amd64/Binary,
// dir/linux_arm64/Binary: those that are there, at least one) and hashes
// them.
func FindLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	l := &Local{Binaries: map[string]string{}}
	h := sha256.New()
	for _, p := range Platforms {
		path := filepath.Join(abs, strings.ReplaceAll(p, "/", "_"), Binary)
		sum, err := fileSum(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the SBOM scanner: %w", err)
		}
		l.Binaries[p] = path
		fmt.Fprintf(h, "%s %s\n", p, sum)
	}
	if len(l.Binaries) == 0 {
		return nil, fmt.Errorf("the SBOM scanner is not built: %s has no linux_<arch>/%s (run hack/scanner.sh, or pin a scanner image with --sbom-scanner or policy.sbomScanner)", abs, Binary)
	}
	l.Tag = TagPrefix + hex.EncodeToString(h.Sum(nil))[:16]
	return l, nil
}

// Covers reports whether the scanner has a binary for platform.
func (l *Local) Covers(platform string) bool {
	_, ok := l.Binaries[platform]
	return ok
}

// checkNative fails when a platform the daemons of b run on (where
// BuildKit runs the scanner, whatever the platform built) is one the
// scanner has no binary for: BuildKit would fail later, inside the first
// build, with a less clear error.
func (l *Local) checkNative(ctx context.Context, b Builder) error {
	caps, err := b.Capabilities(ctx)
	if err != nil {
		return nil // the build reports an unreachable daemon itself
	}
	for _, native := range caps.Native {
		if !l.Covers(native) {
			return fmt.Errorf("the SBOM scanner is not built for %s, the BuildKit daemon's own platform, where BuildKit runs it: run hack/scanner.sh %s (or all)", native, strings.TrimPrefix(native, "linux/"))
		}
	}
	return nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Ensure returns the digest reference of the scanner image repo:l.Tag,
// building and pushing it first when the registry lacks that tag. insecure
// pushes over plain HTTP. pushed says whether it pushed.
func (l *Local) Ensure(ctx context.Context, reg Registry, b Builder, repo string, insecure bool, status chan *client.SolveStatus) (ref string, pushed bool, err error) {
	if _, err := name.NewRepository(repo, name.Insecure); err != nil {
		return "", false, fmt.Errorf("scanner repository %q: %w", repo, err)
	}
	if b != nil {
		if err := l.checkNative(ctx, b); err != nil {
			return "", false, err
		}
	}
	d, err := reg.Head(ctx, repo+":"+l.Tag)
	switch {
	case err == nil:
		return repo + "@" + d.Digest.String(), false, nil
	case !errors.Is(err, regclient.ErrNotFound):
		return "", false, fmt.Errorf("looking for the SBOM scanner %s:%s: %w", repo, l.Tag, err)
	}
	if b == nil {
		return "", false, fmt.Errorf("the SBOM scanner %s:%s is not in the registry and there is no BuildKit daemon to build it", repo, l.Tag)
	}
	res, err := b.BuildBinary(ctx, build.BinaryImage{
		Repository: repo,
		Binaries:   l.Binaries,
		Path:       ImagePath,
		Annotations: map[string]string{
			"org.opencontainers.image.title":       "imgctl SBOM scanner",
			"org.opencontainers.image.description": "BuildKit SBOM generator: syft catalogues the image and writes an SPDX 2.3 in-toto statement",
			"org.opencontainers.image.version":     l.Tag,
		},
		Insecure: insecure,
	}, status)
	if err != nil {
		return "", false, fmt.Errorf("pushing the SBOM scanner: %w", err)
	}
	// The tag names the content: a concurrent publish writes the same
	// digest, so writing it again moves nothing.
	if err := reg.Tag(ctx, repo, l.Tag, res.Digest); err != nil {
		return "", true, fmt.Errorf("tagging the SBOM scanner %s:%s: %w", repo, l.Tag, err)
	}
	return repo + "@" + res.Digest, true, nil
}

// Resolve returns the digest reference of a pinned scanner image, which
// must exist.
func Resolve(ctx context.Context, reg Registry, ref string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("SBOM scanner %q: %w", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		if _, err := reg.Head(ctx, ref); err != nil {
			return "", fmt.Errorf("SBOM scanner %s: %w", ref, err)
		}
		return d.Context().Name() + "@" + d.DigestStr(), nil
	}
	d, err := reg.Head(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("SBOM scanner %s: %w", ref, err)
	}
	return r.Context().Name() + "@" + d.Digest.String(), nil
}

// Source names the generator of a publish: a pinned image, or the local
// scanner pushed to Repo when missing. It is resolved once and kept.
type Source struct {
	// Pinned is the scanner image reference to use as it is; "" uses Local.
	Pinned   string
	Local    *Local
	Repo     string
	Insecure bool
	Registry Registry
	Builder  Builder
	// Status receives the scanner build's progress (may be nil).
	Status chan *client.SolveStatus

	ref string
}

// Generator returns the scanner image's digest reference.
func (s *Source) Generator(ctx context.Context) (string, error) {
	if s.ref != "" {
		return s.ref, nil
	}
	var err error
	switch {
	case s.Pinned != "":
		s.ref, err = Resolve(ctx, s.Registry, s.Pinned)
	case s.Local != nil:
		s.ref, _, err = s.Local.Ensure(ctx, s.Registry, s.Builder, s.Repo, s.Insecure, s.Status)
	default:
		err = errors.New("no SBOM scanner: neither a pinned image nor local binaries")
	}
	return s.ref, err
}
