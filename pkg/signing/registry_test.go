package signing_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/signing"
)

// registryCase is one registry implementation the contract suite runs
// against. Signatures live in the `sha256-<hex>.sig` tag on all of them;
// the referrers API must neither help nor hurt.
type registryCase struct {
	name  string
	start func(t *testing.T) string // returns 127.0.0.1:PORT, plain HTTP
}

func registries() []registryCase {
	return []registryCase{
		{"ggcr-referrers", func(t *testing.T) string { return e2etest.InProcessRegistry(t, true) }},
		{"ggcr-no-referrers", func(t *testing.T) string { return e2etest.InProcessRegistry(t, false) }},
		{"distribution-2.8", func(t *testing.T) string { return e2etest.Registry(t) }},
	}
}

// subject is something to sign: a single image manifest or an index.
type subject struct {
	name string
	push func(t *testing.T, repo name.Repository, tag string) name.Digest
}

func subjects() []subject {
	return []subject{{"image", pushImage}, {"index", pushIndex}}
}

// pushImage pushes a small random image and returns its digest reference.
func pushImage(t *testing.T, repo name.Repository, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	require.NoError(t, remote.Write(repo.Tag(tag), img))
	d, err := img.Digest()
	require.NoError(t, err)
	return repo.Digest(d.String())
}

// pushIndex pushes a small random two-manifest index.
func pushIndex(t *testing.T, repo name.Repository, tag string) name.Digest {
	t.Helper()
	idx, err := random.Index(64, 1, 2)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(repo.Tag(tag), idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	return repo.Digest(d.String())
}

func repository(t *testing.T, host, path string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(host+"/"+path, name.Insecure)
	require.NoError(t, err)
	return r
}

// writes counts the requests that change a registry (anything but GET
// and HEAD) passing through it.
type writes struct {
	inner http.RoundTripper
	n     atomic.Int64
}

func (w *writes) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.n.Add(1)
	}
	return w.inner.RoundTrip(r)
}

// signatureLayers returns the layers (one per signature) of ref's
// signature tag, read without cosign.
func signatureLayers(t *testing.T, ref name.Digest) []v1.Descriptor {
	t.Helper()
	img, err := remote.Image(sigTag(t, ref))
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	return m.Layers
}

func sigTag(t *testing.T, ref name.Digest) name.Tag {
	t.Helper()
	h, err := v1.NewHash(ref.DigestStr())
	require.NoError(t, err)
	return ref.Context().Tag(h.Algorithm + "-" + h.Hex + ".sig")
}

// requireVerifyError checks that err wraps want (a sentinel, or nil for
// "neither sentinel") and names ref.
func requireVerifyError(t *testing.T, err error, want error, ref name.Digest) {
	t.Helper()
	require.Error(t, err)
	require.Contains(t, err.Error(), ref.String())
	for _, s := range []error{signing.ErrUnsigned, signing.ErrInvalidSignature} {
		require.Equal(t, s == want, errors.Is(err, s), "errors.Is(%q, %q)", err, s)
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	for _, rc := range registries() {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			host := rc.start(t)
			ctx := context.Background()
			signerA, verifierA := keyA().signer(t), keyA().verifier(t)
			signerB, verifierB := keyB().signer(t), keyB().verifier(t)

			for _, sub := range subjects() {
				t.Run(sub.name, func(t *testing.T) {
					repo := repository(t, host, "sign/"+sub.name)
					ref := sub.push(t, repo, "v1")

					// Unsigned.
					requireVerifyError(t, verifierA.Verify(ctx, ref), signing.ErrUnsigned, ref)

					// Signed by A: A verifies it, B does not.
					require.NoError(t, signerA.Sign(ctx, ref))
					require.NoError(t, verifierA.Verify(ctx, ref))
					err := verifierB.Verify(ctx, ref)
					requireVerifyError(t, err, signing.ErrInvalidSignature, ref)
					require.Contains(t, err.Error(), "1 signature(s) in "+sigTag(t, ref).TagStr())
					require.Len(t, signatureLayers(t, ref), 1)

					// Signing again writes nothing and leaves one signature.
					w := &writes{inner: http.DefaultTransport}
					require.NoError(t, signerA.Sign(ctx, ref, remote.WithTransport(w)))
					require.Zero(t, w.n.Load(), "signing a signed digest again wrote to the registry")
					require.Len(t, signatureLayers(t, ref), 1)

					// Another key appends a second signature; each key
					// verifies its own, and signing again adds nothing.
					require.NoError(t, signerB.Sign(ctx, ref))
					require.NoError(t, signerB.Sign(ctx, ref))
					require.NoError(t, signerA.Sign(ctx, ref))
					require.Len(t, signatureLayers(t, ref), 2)
					require.NoError(t, verifierA.Verify(ctx, ref))
					require.NoError(t, verifierB.Verify(ctx, ref))
				})
			}

			// Other digests in the repository stay unsigned.
			repo := repository(t, host, "sign/image")
			other := pushImage(t, repo, "v2")
			requireVerifyError(t, verifierA.Verify(ctx, other), signing.ErrUnsigned, other)
		})
	}
}

// TestOptions checks that the caller's remote options reach cosign:
// writes go through the given transport, and the context is honoured.
func TestOptions(t *testing.T) {
	t.Parallel()
	host := e2etest.InProcessRegistry(t, false)
	ref := pushImage(t, repository(t, host, "opts"), "v1")
	w := &writes{inner: http.DefaultTransport}
	require.NoError(t, keyA().signer(t).Sign(context.Background(), ref, remote.WithTransport(w)))
	require.NotZero(t, w.n.Load(), "the signature was not written through the given transport")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := keyA().verifier(t).Verify(ctx, ref)
	require.ErrorIs(t, err, context.Canceled)
	requireVerifyError(t, err, nil, ref)
	require.ErrorIs(t, keyA().signer(t).Sign(ctx, ref), context.Canceled)
}

// TestTampered rewrites the signature tag so that its one signature no
// longer matches, in each way it can fail to: every case is
// ErrInvalidSignature.
func TestTampered(t *testing.T) {
	t.Parallel()
	k := keyA()
	// The raw signer, to make signatures the package would never make.
	sv, err := cosign.LoadPrivateKey(k.private, k.password, nil)
	require.NoError(t, err)
	sign := func(t *testing.T, msg []byte) string {
		raw, err := sv.SignMessage(strings.NewReader(string(msg)))
		require.NoError(t, err)
		return base64.StdEncoding.EncodeToString(raw)
	}

	for _, rc := range registries() {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			host := rc.start(t)
			ctx := context.Background()
			signer, verifier := k.signer(t), k.verifier(t)
			repo := repository(t, host, "tampered")

			// other is a signed image whose valid signature we copy.
			other := pushImage(t, repo, "other")
			require.NoError(t, signer.Sign(ctx, other))
			otherSig := readSignature(t, other)

			tests := []struct {
				name   string
				forge  func(t *testing.T, payload []byte, b64sig string) oci.Signature
				detail string // in the error
			}{
				{
					name: "payload changed",
					forge: func(t *testing.T, payload []byte, b64sig string) oci.Signature {
						p := strings.Replace(string(payload), `"optional":null`, `"optional":{"tampered":"yes"}`, 1)
						require.NotEqual(t, string(payload), p)
						return newSignature(t, []byte(p), b64sig)
					},
					detail: "invalid signature",
				},
				{
					name: "signature of other bytes",
					forge: func(t *testing.T, payload []byte, _ string) oci.Signature {
						return newSignature(t, payload, sign(t, []byte("something else")))
					},
					detail: "invalid signature",
				},
				{
					name: "signature not base64",
					forge: func(t *testing.T, payload []byte, _ string) oci.Signature {
						return newSignature(t, payload, "not base64!")
					},
				},
				{
					name: "another image's signature",
					forge: func(t *testing.T, _ []byte, _ string) oci.Signature {
						return otherSig
					},
					detail: "invalid or missing digest in claim",
				},
			}
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ref := pushImage(t, repo, "v"+string(rune('1'+i)))
					require.NoError(t, signer.Sign(ctx, ref))
					require.NoError(t, verifier.Verify(ctx, ref))
					orig := readSignature(t, ref)
					payload, err := orig.Payload()
					require.NoError(t, err)
					b64, err := orig.Base64Signature()
					require.NoError(t, err)

					writeSignatures(t, ref, tt.forge(t, payload, b64))
					err = verifier.Verify(ctx, ref)
					requireVerifyError(t, err, signing.ErrInvalidSignature, ref)
					require.Contains(t, err.Error(), tt.detail)

					// Signing repairs it: the forged signature stays, a
					// valid one is appended.
					require.NoError(t, signer.Sign(ctx, ref))
					require.NoError(t, verifier.Verify(ctx, ref))
					require.Len(t, signatureLayers(t, ref), 2)
				})
			}
		})
	}
}

// readSignature returns the one signature of ref, with its payload read.
func readSignature(t *testing.T, ref name.Digest) oci.Signature {
	t.Helper()
	sigs, err := ociremote.Signatures(sigTag(t, ref))
	require.NoError(t, err)
	list, err := sigs.Get()
	require.NoError(t, err)
	require.Len(t, list, 1)
	s, err := static.Copy(list[0])
	require.NoError(t, err)
	return s
}

func newSignature(t *testing.T, payload []byte, b64sig string) oci.Signature {
	t.Helper()
	s, err := static.NewSignature(payload, b64sig)
	require.NoError(t, err)
	return s
}

// writeSignatures replaces ref's signature tag with an image of sigs.
func writeSignatures(t *testing.T, ref name.Digest, sigs ...oci.Signature) {
	t.Helper()
	img, err := mutate.AppendSignatures(empty.Signatures(), false, sigs...)
	require.NoError(t, err)
	require.NoError(t, remote.Write(sigTag(t, ref), img))
}

// TestRegistryErrors: a missing image or an unreachable registry is
// neither unsigned nor invalid.
func TestRegistryErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	signer, verifier := keyA().signer(t), keyA().verifier(t)

	host := e2etest.InProcessRegistry(t, false)
	repo := repository(t, host, "missing")
	pushImage(t, repo, "v1") // the repository exists, the digest does not
	missing := repo.Digest("sha256:" + strings.Repeat("ab", 32))
	err := verifier.Verify(ctx, missing)
	requireVerifyError(t, err, nil, missing)
	require.ErrorIs(t, err, regclient.ErrNotFound)
	require.EqualError(t, err, "verifying "+missing.String()+": image not found")
	err = signer.Sign(ctx, missing)
	require.ErrorIs(t, err, regclient.ErrNotFound)
	require.EqualError(t, err, "signing "+missing.String()+": image not found")

	s := httptest.NewServer(http.NotFoundHandler())
	down := strings.TrimPrefix(s.URL, "http://")
	s.Close()
	ref := repository(t, down, "down").Digest("sha256:" + strings.Repeat("cd", 32))
	requireVerifyError(t, verifier.Verify(ctx, ref), nil, ref)
	require.ErrorContains(t, signer.Sign(ctx, ref), "signing "+ref.String()+": reading the image")

	// A registry failing every request with 500.
	s = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	t.Cleanup(s.Close)
	ref = repository(t, strings.TrimPrefix(s.URL, "http://"), "broken").Digest("sha256:" + strings.Repeat("ef", 32))
	requireVerifyError(t, verifier.Verify(ctx, ref, remote.WithRetryBackoff(remote.Backoff{Steps: 1})), nil, ref)
}
