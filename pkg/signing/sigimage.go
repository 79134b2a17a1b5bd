package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// cosign's names, as its CLI writes and reads them (cosign v2:
// pkg/cosign/keys.go, pkg/oci/static). They are spelled out here rather
// than imported: every cosign package links Rekor's client and its
// OpenAPI models, which cost imgctl a third of its start-up (see doc.go).
const (
	// SigstorePrivateKeyPemType is the PEM block of the encrypted private
	// key cosign generate-key-pair writes.
	SigstorePrivateKeyPemType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// CosignPrivateKeyPemType is the block older cosign versions wrote;
	// LoadSigner reads both.
	CosignPrivateKeyPemType = "ENCRYPTED COSIGN PRIVATE KEY"
	// SimpleSigningMediaType is the media type of a signature layer: its
	// content is the simple-signing payload.
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a layer's base64 signature of its payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
)

// maxPayload bounds what is read of one signature layer: a simple-signing
// payload is a few hundred bytes.
const maxPayload = 1 << 20

// signatureTag is where cosign keeps the signatures of ref:
// REPO:sha256-<hex>.sig.
func signatureTag(ref name.Digest) (name.Tag, error) {
	h, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return name.Tag{}, err
	}
	return ref.Context().Tag(h.Algorithm + "-" + h.Hex + ".sig"), nil
}

// signatures is the image at a signature tag: one layer per signature.
type signatures struct {
	img    v1.Image
	layers []v1.Descriptor // nil when the tag does not exist
}

// readSignatures reads the signature image at tag; a missing tag is an
// empty one, with the media types cosign gives a new one (an OCI manifest
// and config).
func readSignatures(tag name.Tag, ropts []remote.Option) (*signatures, error) {
	img, err := remote.Image(tag, ropts...)
	if notFound(err) {
		base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return &signatures{img: mutate.ConfigMediaType(base, types.OCIConfigJSON)}, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	return &signatures{img: img, layers: m.Layers}, nil
}

// find reports whether a signature of pl that v verifies is there. Its
// layer has pl's digest, so no blob is read.
func (s *signatures) find(pl []byte, v signature.Verifier) bool {
	sum := sha256.Sum256(pl)
	want := "sha256:" + hex.EncodeToString(sum[:])
	for _, l := range s.layers {
		if l.Digest.String() != want {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
		if err != nil {
			continue
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pl)) == nil {
			return true
		}
	}
	return false
}

// appendSignature is the signature image with one more layer: pl, signed
// by b64sig, as cosign's mutate.AppendSignatures adds it.
func (s *signatures) appendSignature(pl []byte, b64sig string) (v1.Image, error) {
	return mutate.Append(s.img, mutate.Addendum{
		Layer:       static.NewLayer(pl, SimpleSigningMediaType),
		Annotations: map[string]string{SignatureAnnotation: b64sig},
	})
}

// payload reads layer l's content, the signed payload; the registry
// client checks it against its digest.
func (s *signatures) payload(l v1.Descriptor) ([]byte, error) {
	layer, err := s.img.LayerByDigest(l.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPayload+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPayload {
		return nil, fmt.Errorf("payload larger than %d bytes", maxPayload)
	}
	return b, nil
}

// checkSignature is cosign verify's check of one signature with a key and
// no transparency log: the base64 signature annotation verifies over the
// payload with v, and the payload's critical claim names digest (cosign's
// SimpleClaimVerifier; its errors' words).
func checkSignature(v signature.Verifier, b64sig string, pl []byte, digest string) error {
	if b64sig == "" {
		return errors.New("no " + SignatureAnnotation + " annotation")
	}
	sig, err := base64.StdEncoding.DecodeString(b64sig)
	if err != nil {
		return fmt.Errorf("the signature is not base64: %w", err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pl)); err != nil {
		return err
	}
	var ss payload.SimpleContainerImage
	if err := json.Unmarshal(pl, &ss); err != nil {
		return fmt.Errorf("the payload is not a simple-signing document: %w", err)
	}
	if got := ss.Critical.Image.DockerManifestDigest; got != digest {
		return fmt.Errorf("invalid or missing digest in claim: %s", got)
	}
	return nil
}

// notFound reports whether err is the registry's 404.
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
