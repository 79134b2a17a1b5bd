package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
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
	h, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return fmt.Errorf("verifying %s: %w", ref, err)
	}
	ropts := remoteOptions(ctx, opts)
	oopts := []ociremote.Option{ociremote.WithRemoteOptions(ropts...)}
	tag, err := ociremote.SignatureTag(ref, oopts...)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", ref, err)
	}
	// A missing tag reads as no signatures.
	sigs, err := ociremote.Signatures(tag, oopts...)
	if err != nil {
		return fmt.Errorf("verifying %s: reading signatures %s: %w", ref, tag.TagStr(), err)
	}
	list, err := sigs.Get()
	if err != nil {
		return fmt.Errorf("verifying %s: reading signatures %s: %w", ref, tag.TagStr(), err)
	}
	if len(list) == 0 {
		// Only now, so that verifying a signed image costs no extra
		// request: an image that is not there is not "unsigned".
		if _, err := remote.Head(ref, ropts...); err != nil {
			var te *transport.Error
			if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
				return fmt.Errorf("verifying %s: image %w", ref, regclient.ErrNotFound)
			}
			return fmt.Errorf("verifying %s: reading the image: %w", ref, err)
		}
		return fmt.Errorf("verifying %s: %w", ref, ErrUnsigned)
	}

	co := &cosign.CheckOpts{
		SigVerifier:        v.v,
		ClaimVerifier:      cosign.SimpleClaimVerifier, // the CLI's --check-claims=true
		IgnoreTlog:         true,
		IgnoreSCT:          true,
		RegistryClientOpts: oopts,
	}
	var unread, invalid []string
	for i, sig := range list {
		// The payload is the one thing fetched per signature (a blob): a
		// failure here is the registry's, not the signature's.
		p, err := sig.Payload()
		if err != nil {
			unread = append(unread, fmt.Sprintf("signature %d: reading its payload: %v", i+1, err))
			continue
		}
		// static.Copy as cosign.VerifyImageSignatures does, from the
		// payload already read; what fails here is a malformed annotation.
		sc, err := static.Copy(fetched{oneSignature: sig, payload: p})
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("signature %d: %v", i+1, err))
			continue
		}
		if _, err := cosign.VerifyImageSignature(ctx, sc, h, co); err != nil {
			invalid = append(invalid, fmt.Sprintf("signature %d: %v", i+1, err))
			continue
		}
		return nil
	}
	if len(unread) > 0 {
		return fmt.Errorf("verifying %s: %s", ref, strings.Join(append(unread, invalid...), "; "))
	}
	return fmt.Errorf("verifying %s: %w %s (%d signature(s) in %s: %s)",
		ref, ErrInvalidSignature, v.keyPath, len(list), tag.TagStr(), strings.Join(invalid, "; "))
}

// fetched is a signature whose payload was read once already.
type fetched struct {
	oneSignature // embedded under another name: oci.Signature has a Signature method
	payload      []byte
}

type oneSignature = oci.Signature

func (f fetched) Payload() ([]byte, error) { return f.payload, nil }
