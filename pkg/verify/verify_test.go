package verify_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/attest"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/signing"
	"github.com/imgctl/imgctl/pkg/verify"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// statement is an in-toto statement about manifest m, as BuildKit writes it.
func statement(t *testing.T, m v1.Hash, predicateType string, predicate any) v1.Layer {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": predicateType,
		"subject":       []any{map[string]any{"name": "pkg:docker/x", "digest": map[string]string{"sha256": m.Hex}}},
		"predicate":     predicate,
	})
	require.NoError(t, err)
	return static.NewLayer(b, "application/vnd.in-toto+json")
}

type opts struct {
	sbom, provenance bool
	revision         string
	// otherSubject makes the statements about another manifest.
	otherSubject bool
}

// pushIndex pushes a two-platform index whose attestation manifests carry
// what o says, and returns its digest reference.
func pushIndex(t *testing.T, repo name.Repository, tag string, o opts) name.Digest {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		about := d
		if o.otherSubject {
			about = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("e", 64)}
		}
		att := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		var adds []mutate.Addendum
		if o.sbom {
			adds = append(adds, mutate.Addendum{Layer: statement(t, about, attest.PredicateSPDX, map[string]any{
				"spdxVersion": "SPDX-2.3", "name": "x",
				"packages": []any{map[string]any{"name": "libc6", "versionInfo": "2.36-9", "externalRefs": []any{map[string]any{"referenceType": "purl", "referenceLocator": "pkg:deb/debian/libc6@2.36-9?arch=" + arch}}}},
			}), Annotations: map[string]string{"in-toto.io/predicate-type": attest.PredicateSPDX}})
		}
		if o.provenance {
			adds = append(adds, mutate.Addendum{Layer: statement(t, about, attest.PredicateSLSA1, map[string]any{
				"buildDefinition": map[string]any{"buildType": "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"},
				"runDetails": map[string]any{
					"builder":  map[string]any{"id": "https://github.com/imgctl/imgctl"},
					"metadata": map[string]any{"buildkit_metadata": map[string]any{"vcs": map[string]string{"revision": o.revision, "source": "https://git.example.com/specs.git"}}},
				},
			}), Annotations: map[string]string{"in-toto.io/predicate-type": attest.PredicateSLSA1}})
		}
		if len(adds) == 0 {
			continue
		}
		att, err = mutate.Append(att, adds...)
		require.NoError(t, err)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": d.String(),
			},
		}})
	}
	require.NoError(t, remote.WriteIndex(repo.Tag(tag), idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	return repo.Digest(d.String())
}

func keys(t *testing.T, dir, n string) (*signing.Signer, string) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("pw"), nil })
	require.NoError(t, err)
	key, pub := filepath.Join(dir, n+".key"), filepath.Join(dir, n+".pub")
	require.NoError(t, os.WriteFile(key, kb.PrivateBytes, 0o600))
	require.NoError(t, os.WriteFile(pub, kb.PublicBytes, 0o644))
	s, err := signing.LoadSigner(key, []byte("pw"))
	require.NoError(t, err)
	return s, pub
}

func TestCheck(t *testing.T) {
	for _, referrers := range []bool{false, true} {
		srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/lib/py", name.Insecure)
		require.NoError(t, err)
		dir := t.TempDir()
		signer, pub := keys(t, dir, "cosign")
		_, otherPub := keys(t, dir, "other")
		v, err := signing.LoadVerifier(pub)
		require.NoError(t, err)
		other, err := signing.LoadVerifier(otherPub)
		require.NoError(t, err)
		ctx := context.Background()
		reg := regclient.New()

		good := pushIndex(t, repo, "2026.11.24", opts{sbom: true, provenance: true, revision: commit})
		require.NoError(t, signer.Sign(ctx, good))
		noSBOM := pushIndex(t, repo, "2026.11.25", opts{provenance: true, revision: commit})
		require.NoError(t, signer.Sign(ctx, noSBOM))
		wrongRev := pushIndex(t, repo, "2026.11.26", opts{sbom: true, provenance: true, revision: "feedfacefeedfacefeedfacefeedfacefeedface"})
		unsigned := pushIndex(t, repo, "2026.11.27", opts{sbom: true, provenance: true, revision: commit})
		aboutOther := pushIndex(t, repo, "2026.11.28", opts{sbom: true, provenance: true, revision: commit, otherSubject: true})
		require.NoError(t, signer.Sign(ctx, aboutOther))

		c := &verify.Checker{Registry: reg, Key: v, Deep: true}
		r, err := c.Check(ctx, good, commit)
		require.NoError(t, err)
		assert.Empty(t, r.Failures)
		assert.True(t, r.OK())
		assert.Equal(t, verify.SignatureValid, r.Signature)
		assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, r.SBOMPlatforms())
		assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, r.ProvenancePlatforms())
		for _, p := range r.Platforms {
			assert.Equal(t, commit, p.Revision)
			assert.Equal(t, 1, p.Packages)
			assert.Equal(t, "https://github.com/imgctl/imgctl", p.BuilderID)
		}

		r, err = c.Check(ctx, noSBOM, commit)
		require.NoError(t, err)
		assert.Equal(t, []string{"linux/amd64: no SBOM", "linux/arm64: no SBOM"}, r.Failures)

		r, err = c.Check(ctx, wrongRev, commit)
		require.NoError(t, err)
		assert.Equal(t, verify.SignatureMissing, r.Signature)
		require.Len(t, r.Failures, 3)
		assert.Equal(t, "signature: none", r.Failures[0])
		assert.Equal(t, "linux/amd64: provenance: records feedfacefeedfacefeedfacefeedfacefeedface, the image's annotation org.opencontainers.image.revision records "+commit, r.Failures[1])

		r, err = c.Check(ctx, aboutOther, commit)
		require.NoError(t, err)
		require.Len(t, r.Failures, 4)
		assert.Contains(t, r.Failures[0], "linux/amd64: SBOM: statement")
		assert.Contains(t, r.Failures[0], "its subject is not the linux/amd64 manifest")

		// Another key: the signature is not valid for it.
		r, err = (&verify.Checker{Registry: reg, Key: other}).Check(ctx, good, commit)
		require.NoError(t, err)
		assert.Equal(t, verify.SignatureInvalid, r.Signature)
		assert.Equal(t, []string{"signature: not valid for the key (another key's, or tampered with)"}, r.Failures)

		// Without a key (status): a signature is only looked for.
		shallow := &verify.Checker{Registry: reg}
		r, err = shallow.Check(ctx, good, commit)
		require.NoError(t, err)
		assert.Equal(t, verify.SignaturePresent, r.Signature)
		assert.True(t, r.OK())
		r, err = shallow.Check(ctx, unsigned, commit)
		require.NoError(t, err)
		assert.Equal(t, verify.SignatureMissing, r.Signature)
		r, err = shallow.Check(ctx, wrongRev, commit)
		require.NoError(t, err)
		assert.Equal(t, []string{"signature: none"}, r.Failures, "a shallow check does not read the provenance")

		// A single manifest has nowhere to carry attestations.
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		require.NoError(t, remote.Write(repo.Tag("single"), img))
		d, err := img.Digest()
		require.NoError(t, err)
		r, err = shallow.Check(ctx, repo.Digest(d.String()), "")
		require.NoError(t, err)
		assert.Contains(t, r.Failures, "a single manifest, not an index: it has no SBOM or provenance")
	}
}
