package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Predicate types imgctl publishes.
const (
	PredicateSPDX  = "https://spdx.dev/Document"
	PredicateSLSA1 = "https://slsa.dev/provenance/v1"
	// PredicateSLSA02 is the older provenance BuildKit writes when asked
	// for version=v0.2; read as provenance too.
	PredicateSLSA02 = "https://slsa.dev/provenance/v0.2"
)

// BuildKit's annotations on an attestation manifest's index entry and on
// its layers.
const (
	annotationReferenceType   = "vnd.docker.reference.type"
	annotationReferenceDigest = "vnd.docker.reference.digest"
	referenceTypeAttestation  = "attestation-manifest"
	annotationPredicateType   = "in-toto.io/predicate-type"
)

// maxStatement bounds the size of a statement read into memory.
const maxStatement = 64 << 20

// ErrNotIndex is returned by Read for a single image manifest, which has
// nowhere to carry BuildKit's attestations.
var ErrNotIndex = errors.New("not an image index: no attestations")

// Platform is one platform of an index and its attestations.
type Platform struct {
	// Platform is "linux/amd64", normalised.
	Platform string
	// Manifest is the platform's image manifest.
	Manifest v1.Descriptor
	// Attestation is the attestation manifest naming Manifest, or nil.
	Attestation *v1.Descriptor
	// Statements are the in-toto statement layers of Attestation, by
	// predicate type.
	Statements map[string]v1.Descriptor
}

// SBOM is the SPDX statement's layer, or nil.
func (p Platform) SBOM() *v1.Descriptor { return p.statement(PredicateSPDX) }

// Provenance is the SLSA provenance statement's layer (v1, else v0.2), or nil.
func (p Platform) Provenance() *v1.Descriptor {
	if d := p.statement(PredicateSLSA1); d != nil {
		return d
	}
	return p.statement(PredicateSLSA02)
}

func (p Platform) statement(t string) *v1.Descriptor {
	if d, ok := p.Statements[t]; ok {
		return &d
	}
	return nil
}

// Index is an image index read with its attestations.
type Index struct {
	Ref name.Digest
	// Annotations are the index's own annotations.
	Annotations map[string]string
	// Platforms are the index's image manifests, sorted by platform.
	Platforms []Platform
	opts      []remote.Option
}

// Read reads the index at ref and every attestation manifest in it. opts
// are the registry options (transport, auth, context).
func Read(ctx context.Context, ref name.Digest, opts ...remote.Option) (*Index, error) {
	opts = append(append([]remote.Option{}, opts...), remote.WithContext(ctx))
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	if !desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotIndex)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", ref, err)
	}
	x := &Index{Ref: ref, Annotations: im.Annotations, opts: opts}
	byDigest := map[v1.Hash]int{}
	var atts []v1.Descriptor
	for _, m := range im.Manifests {
		if m.Annotations[annotationReferenceType] == referenceTypeAttestation {
			atts = append(atts, m)
			continue
		}
		if m.Platform == nil || m.Platform.OS == "unknown" {
			continue
		}
		p := platforms.Normalize(ocispec.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant})
		byDigest[m.Digest] = len(x.Platforms)
		x.Platforms = append(x.Platforms, Platform{Platform: platforms.Format(p), Manifest: m})
	}
	for _, a := range atts {
		subject, err := v1.NewHash(a.Annotations[annotationReferenceDigest])
		if err != nil {
			return nil, fmt.Errorf("%s: attestation manifest %s: bad %s: %w", ref, a.Digest, annotationReferenceDigest, err)
		}
		i, ok := byDigest[subject]
		if !ok {
			return nil, fmt.Errorf("%s: attestation manifest %s names %s, which is not in the index", ref, a.Digest, subject)
		}
		am, err := remote.Get(ref.Context().Digest(a.Digest.String()), opts...)
		if err != nil {
			return nil, fmt.Errorf("reading attestation manifest %s of %s: %w", a.Digest, ref, err)
		}
		m, err := v1.ParseManifest(bytes.NewReader(am.Manifest))
		if err != nil {
			return nil, fmt.Errorf("parsing attestation manifest %s of %s: %w", a.Digest, ref, err)
		}
		p := &x.Platforms[i]
		a := a
		p.Attestation = &a
		p.Statements = map[string]v1.Descriptor{}
		for _, l := range m.Layers {
			if t := l.Annotations[annotationPredicateType]; t != "" {
				p.Statements[t] = l
			}
		}
	}
	sort.Slice(x.Platforms, func(i, j int) bool { return x.Platforms[i].Platform < x.Platforms[j].Platform })
	return x, nil
}

// Statement is an in-toto statement with its predicate left raw.
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is what a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ReadStatement fetches the statement layer d of platform p and checks
// that it is about p's image manifest.
func (x *Index) ReadStatement(p Platform, d v1.Descriptor) (*Statement, error) {
	l, err := remote.Layer(x.Ref.Context().Digest(d.Digest.String()), x.opts...)
	if err != nil {
		return nil, fmt.Errorf("reading statement %s of %s: %w", d.Digest, x.Ref, err)
	}
	rc, err := l.Compressed() // stored as it is: in-toto JSON is not compressed
	if err != nil {
		return nil, fmt.Errorf("reading statement %s of %s: %w", d.Digest, x.Ref, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxStatement))
	if err != nil {
		return nil, fmt.Errorf("reading statement %s of %s: %w", d.Digest, x.Ref, err)
	}
	if h, _, err := v1.SHA256(bytes.NewReader(b)); err != nil || h != d.Digest {
		return nil, fmt.Errorf("statement %s of %s: content does not match its digest", d.Digest, x.Ref)
	}
	var st Statement
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parsing statement %s of %s: %w", d.Digest, x.Ref, err)
	}
	if st.PredicateType != d.Annotations[annotationPredicateType] {
		return nil, fmt.Errorf("statement %s of %s: predicate type %q, annotated %q", d.Digest, x.Ref, st.PredicateType, d.Annotations[annotationPredicateType])
	}
	about := false
	for _, s := range st.Subject {
		if s.Digest["sha256"] == p.Manifest.Digest.Hex {
			about = true
		}
	}
	if !about {
		return nil, fmt.Errorf("statement %s of %s (%s): its subject is not the %s manifest %s", d.Digest, x.Ref, st.PredicateType, p.Platform, p.Manifest.Digest)
	}
	return &st, nil
}

// Provenance is what imgctl reads from a SLSA provenance predicate.
type Provenance struct {
	BuilderID string
	BuildType string
	// VCS is BuildKit's vcs metadata: "source" and "revision".
	VCS map[string]string
}

// Revision is the spec commit the provenance records, or "".
func (p *Provenance) Revision() string { return p.VCS["revision"] }

// ParseProvenance reads a SLSA v1 (or v0.2) predicate.
func ParseProvenance(st *Statement) (*Provenance, error) {
	switch st.PredicateType {
	case PredicateSLSA1:
		var p struct {
			BuildDefinition struct {
				BuildType string `json:"buildType"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder struct {
					ID string `json:"id"`
				} `json:"builder"`
				Metadata struct {
					BuildKit struct {
						VCS map[string]string `json:"vcs"`
					} `json:"buildkit_metadata"`
				} `json:"metadata"`
			} `json:"runDetails"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return nil, fmt.Errorf("parsing SLSA v1 provenance: %w", err)
		}
		return &Provenance{BuilderID: p.RunDetails.Builder.ID, BuildType: p.BuildDefinition.BuildType, VCS: p.RunDetails.Metadata.BuildKit.VCS}, nil
	case PredicateSLSA02:
		var p struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			BuildType string `json:"buildType"`
			Metadata  struct {
				BuildKit struct {
					VCS map[string]string `json:"vcs"`
				} `json:"https://mobyproject.org/buildkit@v1#metadata"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return nil, fmt.Errorf("parsing SLSA v0.2 provenance: %w", err)
		}
		return &Provenance{BuilderID: p.Builder.ID, BuildType: p.BuildType, VCS: p.Metadata.BuildKit.VCS}, nil
	}
	return nil, fmt.Errorf("predicate type %q is not SLSA provenance", st.PredicateType)
}

// Package is one package an SBOM lists.
type Package struct {
	Name, Version string
	// PURL is the package URL ("pkg:deb/debian/libc6@2.36-9?arch=amd64…"),
	// or "".
	PURL string
	// SourceInfo is the SPDX sourceInfo: how the scanner found it
	// ("acquired package info from DPKG DB: /var/lib/dpkg/status").
	SourceInfo string
	// InstalledSize is the package's installed size in bytes, from the
	// annotation imgctl's scanner writes (InstalledSizePrefix); 0 when the
	// SBOM records none (its ecosystem has none, or an older scanner).
	InstalledSize int64
}

// InstalledSizePrefix starts the comment of the SPDX package annotation in
// which imgctl's scanner records a package's installed size in bytes
// ("imgctl.installed-size=13299712"; scanner/catalog writes it).
const InstalledSizePrefix = "imgctl.installed-size="

// SBOM is what imgctl reads from an SPDX document.
type SBOM struct {
	Name     string
	Packages []Package
}

// ParseSBOM reads an SPDX 2.x JSON predicate.
func ParseSBOM(st *Statement) (*SBOM, error) {
	if st.PredicateType != PredicateSPDX {
		return nil, fmt.Errorf("predicate type %q is not SPDX", st.PredicateType)
	}
	var doc struct {
		SPDXVersion       string   `json:"spdxVersion"`
		Name              string   `json:"name"`
		DocumentDescribes []string `json:"documentDescribes"`
		Relationships     []struct {
			Element string `json:"spdxElementId"`
			Type    string `json:"relationshipType"`
			Related string `json:"relatedSpdxElement"`
		} `json:"relationships"`
		Packages []struct {
			ID           string `json:"SPDXID"`
			Name         string `json:"name"`
			VersionInfo  string `json:"versionInfo"`
			SourceInfo   string `json:"sourceInfo"`
			ExternalRefs []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
			Annotations []struct {
				Comment string `json:"comment"`
			} `json:"annotations"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(st.Predicate, &doc); err != nil {
		return nil, fmt.Errorf("parsing SPDX document: %w", err)
	}
	if doc.SPDXVersion == "" {
		return nil, errors.New("parsing SPDX document: no spdxVersion")
	}
	// The package the document describes is the scanned root filesystem
	// itself, not a package in it.
	described := map[string]bool{}
	for _, id := range doc.DocumentDescribes {
		described[id] = true
	}
	for _, r := range doc.Relationships {
		if r.Element == "SPDXRef-DOCUMENT" && r.Type == "DESCRIBES" {
			described[r.Related] = true
		}
	}
	s := &SBOM{Name: doc.Name}
	for _, p := range doc.Packages {
		if p.ID != "" && described[p.ID] {
			continue
		}
		pkg := Package{Name: p.Name, Version: p.VersionInfo, SourceInfo: p.SourceInfo}
		for _, a := range p.Annotations {
			if v, ok := strings.CutPrefix(a.Comment, InstalledSizePrefix); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
					pkg.InstalledSize = n
				}
			}
		}
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				pkg.PURL = r.Locator
				break
			}
		}
		s.Packages = append(s.Packages, pkg)
	}
	return s, nil
}
