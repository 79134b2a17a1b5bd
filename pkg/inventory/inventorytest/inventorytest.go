package inventorytest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// Package is an SBOM entry: PURL "" makes an entry without a package URL.
type Package struct {
	Name, Version, PURL string
	// Size is the installed size in bytes the SBOM records, as imgctl's
	// scanner writes it (an SPDX package annotation); 0 records none.
	Size int64
}

// Sized is p with an installed size of n bytes.
func Sized(p Package, n int64) Package {
	p.Size = n
	return p
}

// Deb, Py and R make packages with their ecosystems' package URLs.
func Deb(name, version string) Package {
	return Package{Name: name, Version: version, PURL: fmt.Sprintf("pkg:deb/debian/%s@%s?arch=amd64", name, version)}
}
func Py(name, version string) Package {
	return Package{Name: name, Version: version, PURL: fmt.Sprintf("pkg:pypi/%s@%s", strings.ToLower(name), version)}
}
func R(name, version string) Package {
	return Package{Name: name, Version: version, PURL: fmt.Sprintf("pkg:cran/%s@%s", name, version)}
}

// Platform is one platform of a pushed version.
type Platform struct {
	// Platform is "linux/amd64" or "linux/arm64".
	Platform string
	// Layers are the contents of its layers (one layer each, uncompressed
	// bytes stored as they are).
	Layers []string
	Config v1.Config
	// Packages, when not nil, are listed by an SBOM attestation.
	Packages []Package
}

// Version is an index to push.
type Version struct {
	Platforms   []Platform
	Annotations map[string]string
}

// Push pushes v to ref (a tag or a repository:tag) and returns its index
// digest. opts are the registry's remote options.
func Push(t testing.TB, ref string, v Version, opts ...remote.Option) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	var adds []mutate.IndexAddendum
	for _, p := range v.Platforms {
		os, arch, _ := strings.Cut(p.Platform, "/")
		img := empty.Image
		for _, l := range p.Layers {
			img, err = mutate.AppendLayers(img, static.NewLayer([]byte(l), types.OCILayer))
			require.NoError(t, err)
		}
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Config = os, arch, p.Config
		img, err = mutate.ConfigFile(img, cf)
		require.NoError(t, err)
		img = mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
		d, err := img.Digest()
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: os, Architecture: arch}}})
		if p.Packages == nil {
			continue
		}
		att := attestation(t, d, p.Packages)
		adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": d.String(),
			},
		}})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	if len(v.Annotations) > 0 {
		idx = mutate.Annotations(idx, v.Annotations).(v1.ImageIndex)
	}
	require.NoError(t, remote.WriteIndex(r, idx, opts...))
	d, err := idx.Digest()
	require.NoError(t, err)
	return d.String()
}

// attestation is an attestation manifest with one SPDX statement about the
// manifest subject.
func attestation(t testing.TB, subject v1.Hash, pkgs []Package) v1.Image {
	type ref struct {
		Type    string `json:"referenceType"`
		Locator string `json:"referenceLocator"`
	}
	type annotation struct {
		Annotator string `json:"annotator"`
		Date      string `json:"annotationDate"`
		Type      string `json:"annotationType"`
		Comment   string `json:"comment"`
	}
	type pkg struct {
		Name         string       `json:"name"`
		VersionInfo  string       `json:"versionInfo"`
		ExternalRefs []ref        `json:"externalRefs,omitempty"`
		Annotations  []annotation `json:"annotations,omitempty"`
	}
	doc := struct {
		SPDXVersion string `json:"spdxVersion"`
		Name        string `json:"name"`
		Packages    []pkg  `json:"packages"`
	}{SPDXVersion: "SPDX-2.3", Name: "/run/src/core"}
	for _, p := range pkgs {
		e := pkg{Name: p.Name, VersionInfo: p.Version}
		if p.PURL != "" {
			e.ExternalRefs = []ref{{Type: "purl", Locator: p.PURL}}
		}
		if p.Size > 0 {
			e.Annotations = []annotation{{Annotator: "Tool: imgctl-sbom-scanner", Date: "2026-12-01T00:00:00Z", Type: "OTHER",
				Comment: fmt.Sprintf("imgctl.installed-size=%d", p.Size)}}
		}
		doc.Packages = append(doc.Packages, e)
	}
	predicate, err := json.Marshal(doc)
	require.NoError(t, err)
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://spdx.dev/Document",
		"subject":       []map[string]any{{"name": "_", "digest": map[string]string{"sha256": subject.Hex}}},
		"predicate":     json.RawMessage(predicate),
	})
	require.NoError(t, err)
	l := static.NewLayer(st, "application/vnd.in-toto+json")
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l, Annotations: map[string]string{
		"in-toto.io/predicate-type": "https://spdx.dev/Document",
	}})
	require.NoError(t, err)
	return mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
}
