package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// ErrUnsigned is returned by [Verifier.Verify] when the image has no
// signature at all.
var ErrUnsigned = errors.New("no signature")

// ErrInvalidSignature is returned by [Verifier.Verify] when the image has
// signatures but none is valid for the public key: another key's, or
// tampered with, or made for another digest.
var ErrInvalidSignature = errors.New("no valid signature for the public key")

// Verifier checks image signatures against one cosign public key, offline:
// no transparency log, no certificates (as `cosign verify --key K
// --insecure-ignore-tlog=true`). It is safe for concurrent use; load it
// once and verify many images.
type Verifier struct {
	keyPath string
	v       signature.Verifier
}

// LoadVerifier reads the PEM public key at pubKeyPath (cosign.pub).
func LoadVerifier(pubKeyPath string) (*Verifier, error) {
	b, err := os.ReadFile(pubKeyPath)
	if err != nil {
		return nil, fmt.Errorf("reading public key %s: %w", pubKeyPath, pathErr(err))
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("reading public key %s: %w", pubKeyPath, err)
	}
	// As the cosign CLI loads --key for verify.
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("reading public key %s: %w", pubKeyPath, err)
	}
	return &Verifier{keyPath: pubKeyPath, v: v}, nil
}

// Verify checks that ref has a signature valid for the verifier's key: a
// signature in the `sha256-<hex>.sig` tag of ref's repository whose
// payload names ref's digest and whose signature the key verifies. It
// returns nil if one is, an error wrapping [ErrUnsigned] if there is none
// at all, one wrapping [ErrInvalidSignature] if none of them is valid, and
// another error if the registry could not be read (a missing image wraps
// regclient.ErrNotFound). Errors name ref. opts are as for [Signer.Sign].
func (v *Verifier) Verify(ctx context.Context, ref name.Digest, opts ...remote.Option) error {
	ropts := remoteOptions(ctx, opts)
	tag, err := signatureTag(ref)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", ref, err)
	}
	// A missing tag reads as no signatures.
	sigs, err := readSignatures(tag, ropts)
	if err != nil {
		return fmt.Errorf("verifying %s: reading signatures %s: %w", ref, tag.TagStr(), err)
	}
	if len(sigs.layers) == 0 {
		// Only now, so that verifying a signed image costs no extra
		// request: an image that is not there is not "unsigned".
		if _, err := remote.Head(ref, ropts...); err != nil {
			if notFound(err) {
				return fmt.Errorf("verifying %s: image %w", ref, regclient.ErrNotFound)
			}
			return fmt.Errorf("verifying %s: reading the image: %w", ref, err)
		}
		return fmt.Errorf("verifying %s: %w", ref, ErrUnsigned)
	}

	var unread, invalid []string
	for i, l := range sigs.layers {
		// The payload is the one thing fetched per signature (a blob): a
		// failure here is the registry's, not the signature's.
		p, err := sigs.payload(l)
		if err != nil {
			unread = append(unread, fmt.Sprintf("signature %d: reading its payload: %v", i+1, err))
			continue
		}
		if err := checkSignature(v.v, l.Annotations[SignatureAnnotation], p, ref.DigestStr()); err != nil {
			invalid = append(invalid, fmt.Sprintf("signature %d: %v", i+1, err))
			continue
		}
		return nil
	}
	if len(unread) > 0 {
		return fmt.Errorf("verifying %s: %s", ref, strings.Join(append(unread, invalid...), "; "))
	}
	return fmt.Errorf("verifying %s: %w %s (%d signature(s) in %s: %s)",
		ref, ErrInvalidSignature, v.keyPath, len(sigs.layers), tag.TagStr(), strings.Join(invalid, "; "))
}
