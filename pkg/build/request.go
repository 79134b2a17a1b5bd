package build

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/imgctl/imgctl/pkg/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Request is one image to build and push.
type Request struct {
	// Image is the spec to build. It is not modified.
	Image *spec.Image
	// SpecDir is the absolute directory Image.Rootfs and Image.Files[].Src
	// are relative to.
	SpecDir string
	// Base is "" when Image.From is "scratch"; otherwise a digest reference
	// "host/repo@sha256:…": the external base resolved by the planner, or
	// the parent just pushed.
	Base string
	// Repository is where the image is pushed, by digest only (no tag),
	// e.g. "127.0.0.1:5000/datasci/python3".
	Repository string
	// Annotations are set on the manifest as they are (content key,
	// source, revision, base name and digest, description). Build adds
	// none.
	Annotations map[string]string
	// CacheRef is the registry build cache, outside the image's
	// repository, e.g. "127.0.0.1:5000/datasci/imgctl-cache/python3:buildcache";
	// "" means no cache. The build exports to it.
	CacheRef string
	// CacheImport says CacheRef exists and is imported before the build.
	// Leave it false for a cache not written yet: BuildKit would report
	// the missing cache as an error block.
	CacheImport bool
	// Insecure talks plain HTTP to the registries of Base, Repository and
	// CacheRef.
	Insecure bool
	// BaseRead, when set, gives the remote options Base's config is read
	// with: the caller's registry client (one retry policy, its
	// transport and plain-HTTP guard). Without it, the client's keychain
	// and go-containerregistry's default transport are used.
	BaseRead func(ctx context.Context, repo name.Repository) ([]remote.Option, error)
	// Secrets maps a BuildKit secret id to its value, e.g.
	// PipCredentialsSecret to "user:password". Values never reach the
	// definition, a layer, the config or a log line of this package.
	Secrets map[string][]byte
	// Attest is what BuildKit attaches to every platform of the image
	// inside its index; the zero value attaches nothing.
	Attest Attestations
	// Refresh runs the package-install steps (apt, pip, r) again instead
	// of taking them from the build cache, so they install what the
	// package indexes serve today; the steps after them follow.
	Refresh bool
}

// Attestations are the in-toto attestations BuildKit makes and attaches,
// per platform, as attestation manifests in the pushed index
// (vnd.docker.reference.type: attestation-manifest), where standard tools
// (buildx imagetools inspect, cosign, …) read them.
type Attestations struct {
	// SBOMGenerator is the scanner image BuildKit runs over each
	// platform's result to make its SPDX SBOM, a digest reference
	// "host/repo@sha256:…" so that every build of a publish uses the same
	// scanner; "" makes no SBOM.
	SBOMGenerator string
	// Provenance is the SLSA v1 provenance mode, "min" or "max"; "" makes
	// none.
	Provenance string
	// BuilderID names the builder in the provenance (runDetails.builder.id).
	BuilderID string
	// VCSSource and VCSRevision are the spec repository URL and commit the
	// provenance records (BuildKit's vcs:source and vcs:revision); "" when
	// unknown.
	VCSSource, VCSRevision string
}

// DefaultBuilderID is the provenance builder id of images imgctl builds.
const DefaultBuilderID = "https://github.com/imgctl/imgctl"

// solveOpts are the options of each platform's gateway solve: the
// provenance records the vcs:* options of the solve that made the result,
// not those of the build as a whole.
func (a Attestations) solveOpts() map[string]string {
	if a.Provenance == "" {
		return nil
	}
	opts := map[string]string{}
	if a.VCSSource != "" {
		opts["vcs:source"] = a.VCSSource
	}
	if a.VCSRevision != "" {
		opts["vcs:revision"] = a.VCSRevision
	}
	return opts
}

// frontendAttrs are the solve's attributes that ask BuildKit for a's
// attestations. BuildKit reads attest:* for every solve, gateway ones
// included.
func (a Attestations) frontendAttrs() (map[string]string, error) {
	attrs := map[string]string{}
	if a.SBOMGenerator != "" {
		if _, err := name.NewDigest(a.SBOMGenerator, name.Insecure); err != nil {
			return nil, fmt.Errorf("SBOM generator %q is not a digest reference: %w", a.SBOMGenerator, err)
		}
		attrs["attest:sbom"] = "generator=" + a.SBOMGenerator
	}
	switch a.Provenance {
	case "":
	case "min", "max":
		v := "mode=" + a.Provenance
		if a.BuilderID != "" {
			if strings.ContainsAny(a.BuilderID, ",\"") {
				return nil, fmt.Errorf("provenance builder id %q must not contain a comma or a quote", a.BuilderID)
			}
			v += ",builder-id=" + a.BuilderID
		}
		attrs["attest:provenance"] = v
	default:
		return nil, fmt.Errorf("provenance mode %q: want min or max", a.Provenance)
	}
	return attrs, nil
}

// Result is a pushed image.
type Result struct {
	// Digest is the manifest digest, "sha256:…".
	Digest string
	// Duration is how long Build took: checks, base config, solve and push.
	Duration time.Duration
	// Daemon is the address of the BuildKit daemon that built it, when
	// a pool of several daemons did (pkg/buildpool); "" otherwise.
	Daemon string
}

// Platforms returns the platforms im is built for, normalised, in the
// order the spec lists them (linux/amd64 when it lists none).
func Platforms(im *spec.Image) ([]ocispec.Platform, error) {
	if len(im.Platforms) == 0 {
		return []ocispec.Platform{platforms.Normalize(ocispec.Platform{OS: "linux", Architecture: "amd64"})}, nil
	}
	out := make([]ocispec.Platform, 0, len(im.Platforms))
	for _, s := range im.Platforms {
		p, err := platforms.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("image %s: parsing platform %q: %w", im.Name, s, err)
		}
		out = append(out, platforms.Normalize(p))
	}
	return out, nil
}

// check validates the parts of req that Definition needs.
func (req Request) check() error {
	im := req.Image
	if im == nil {
		return errors.New("request has no image")
	}
	scratch := im.From == "scratch"
	switch {
	case scratch && req.Base != "":
		return fmt.Errorf("image %s is from scratch but base %q is set", im.Name, req.Base)
	case !scratch && req.Base == "":
		return fmt.Errorf("image %s: base is not resolved (want host/repo@sha256:…)", im.Name)
	case !scratch:
		if _, err := name.NewDigest(req.Base, name.Insecure); err != nil {
			return fmt.Errorf("image %s: base %q is not a digest reference: %w", im.Name, req.Base, err)
		}
	}
	if (im.HasRootfs() || len(im.Files) > 0) && !filepath.IsAbs(req.SpecDir) {
		return fmt.Errorf("image %s: spec directory %q is not absolute", im.Name, req.SpecDir)
	}
	return nil
}
