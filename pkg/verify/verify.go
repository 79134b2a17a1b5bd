package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgctl/imgctl/pkg/attest"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/signing"
)

// Registry is the read access a Checker needs.
type Registry interface {
	Head(ctx context.Context, ref string) (v1.Descriptor, error)
	ReadOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error)
}

var _ Registry = (*regclient.Client)(nil)

// KeyVerifier checks a signature against a public key (signing.Verifier).
type KeyVerifier interface {
	Verify(ctx context.Context, ref name.Digest, opts ...remote.Option) error
}

var _ KeyVerifier = (*signing.Verifier)(nil)

// Signature states.
const (
	// SignatureValid: a signature the key verifies.
	SignatureValid = "valid"
	// SignatureInvalid: signatures, none the key verifies.
	SignatureInvalid = "invalid"
	// SignaturePresent: a signature, not checked (no key given).
	SignaturePresent = "signed"
	// SignatureMissing: no signature at all.
	SignatureMissing = "unsigned"
)

// Checker checks versions.
type Checker struct {
	Registry Registry
	// Key checks signatures; nil only looks for one (SignaturePresent).
	Key KeyVerifier
	// Deep reads the provenance statements (revision, builder) and the
	// SBOMs (that they parse) instead of only seeing that they are there.
	Deep bool
}

// Report is what one version carries.
type Report struct {
	// Ref is "repo@sha256:…".
	Ref       string `json:"ref"`
	Signature string `json:"signature"`
	// SignatureError says why the signature is not valid, when it is not.
	SignatureError string `json:"signature_error,omitempty"`
	// Revision is the spec commit the image's annotations record.
	Revision  string     `json:"revision,omitempty"`
	Platforms []Platform `json:"platforms"`
	// Failures name what is wrong, one per line; empty when the version
	// passes (see Checker for what passing means).
	Failures []string `json:"failures"`
}

// Platform is one platform's attestations.
type Platform struct {
	Platform   string `json:"platform"`
	Manifest   string `json:"manifest"`
	SBOM       bool   `json:"sbom"`
	Provenance bool   `json:"provenance"`
	// Packages is how many packages the SBOM lists (Deep only).
	Packages int `json:"packages,omitempty"`
	// Revision and BuilderID are what the provenance records (Deep only).
	Revision  string `json:"revision,omitempty"`
	BuilderID string `json:"builder_id,omitempty"`
}

// OK says the version passed.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// SBOMPlatforms and ProvenancePlatforms list the platforms that have one.
func (r *Report) SBOMPlatforms() []string {
	return r.platforms(func(p Platform) bool { return p.SBOM })
}

func (r *Report) ProvenancePlatforms() []string {
	return r.platforms(func(p Platform) bool { return p.Provenance })
}

func (r *Report) platforms(f func(Platform) bool) []string {
	var out []string
	for _, p := range r.Platforms {
		if f(p) {
			out = append(out, p.Platform)
		}
	}
	return out
}

// Check checks the version at ref, whose annotations record revision
// ("" when they record none). A version passes when it is signed (validly,
// with a Key), every platform has an SBOM and a provenance, and (Deep)
// every provenance names revision. Registry errors are returned as errors;
// everything the version lacks goes into the report's Failures.
func (c *Checker) Check(ctx context.Context, ref name.Digest, revision string) (*Report, error) {
	r := &Report{Ref: ref.Context().Name() + "@" + ref.DigestStr(), Revision: revision, Platforms: []Platform{}, Failures: []string{}}
	opts, err := c.Registry.ReadOptions(ctx, ref.Context())
	if err != nil {
		return nil, err
	}
	if err := c.signature(ctx, ref, opts, r); err != nil {
		return nil, err
	}
	x, err := attest.Read(ctx, ref, opts...)
	switch {
	case errors.Is(err, attest.ErrNotIndex):
		r.Failures = append(r.Failures, "a single manifest, not an index: it has no SBOM or provenance")
		return r, nil
	case err != nil:
		return nil, err
	}
	for _, p := range x.Platforms {
		pr := Platform{Platform: p.Platform, Manifest: p.Manifest.Digest.String()}
		if d := p.SBOM(); d != nil {
			pr.SBOM = true
			if c.Deep {
				if err := c.sbom(x, p, *d, &pr); err != nil {
					r.Failures = append(r.Failures, fmt.Sprintf("%s: SBOM: %v", p.Platform, err))
				}
			}
		} else {
			r.Failures = append(r.Failures, p.Platform+": no SBOM")
		}
		if d := p.Provenance(); d != nil {
			pr.Provenance = true
			if c.Deep {
				if err := c.provenance(x, p, *d, &pr, revision); err != nil {
					r.Failures = append(r.Failures, fmt.Sprintf("%s: provenance: %v", p.Platform, err))
				}
			}
		} else {
			r.Failures = append(r.Failures, p.Platform+": no provenance")
		}
		r.Platforms = append(r.Platforms, pr)
	}
	if len(x.Platforms) == 0 {
		r.Failures = append(r.Failures, "the index lists no platform image")
	}
	return r, nil
}

func (c *Checker) signature(ctx context.Context, ref name.Digest, opts []remote.Option, r *Report) error {
	if c.Key == nil {
		// cosign's tag scheme: REPO:sha256-<hex>.sig.
		tag := ref.Context().Name() + ":" + strings.Replace(ref.DigestStr(), ":", "-", 1) + ".sig"
		_, err := c.Registry.Head(ctx, tag)
		switch {
		case err == nil:
			r.Signature = SignaturePresent
		case errors.Is(err, regclient.ErrNotFound):
			r.Signature = SignatureMissing
			r.Failures = append(r.Failures, "signature: none")
		default:
			return err
		}
		return nil
	}
	err := c.Key.Verify(ctx, ref, opts...)
	switch {
	case err == nil:
		r.Signature = SignatureValid
	case errors.Is(err, signing.ErrUnsigned):
		r.Signature, r.SignatureError = SignatureMissing, err.Error()
		r.Failures = append(r.Failures, "signature: none")
	case errors.Is(err, signing.ErrInvalidSignature):
		r.Signature, r.SignatureError = SignatureInvalid, err.Error()
		r.Failures = append(r.Failures, "signature: not valid for the key (another key's, or tampered with)")
	default:
		return err
	}
	return nil
}

func (c *Checker) sbom(x *attest.Index, p attest.Platform, d v1.Descriptor, pr *Platform) error {
	st, err := x.ReadStatement(p, d)
	if err != nil {
		return err
	}
	s, err := attest.ParseSBOM(st)
	if err != nil {
		return err
	}
	pr.Packages = len(s.Packages)
	return nil
}

func (c *Checker) provenance(x *attest.Index, p attest.Platform, d v1.Descriptor, pr *Platform, revision string) error {
	st, err := x.ReadStatement(p, d)
	if err != nil {
		return err
	}
	prov, err := attest.ParseProvenance(st)
	if err != nil {
		return err
	}
	pr.Revision, pr.BuilderID = prov.Revision(), prov.BuilderID
	if revision != "" && prov.Revision() != revision {
		got := prov.Revision()
		if got == "" {
			got = "no commit"
		}
		return fmt.Errorf("records %s, the image's annotation org.opencontainers.image.revision records %s", got, revision)
	}
	return nil
}
