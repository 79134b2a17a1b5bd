package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// PasswordEnv is the environment variable [LoadSignerFromEnv] reads the
// private key's password from, the one the cosign CLI reads.
const PasswordEnv = "COSIGN_PASSWORD"

// ErrWrongPassword is returned by [LoadSigner] when the private key does
// not decrypt: almost always a wrong password (a damaged key file gives
// it too).
var ErrWrongPassword = errors.New("wrong password?")

// ErrNoKey is returned by [LoadSignerFromEnv] when neither the key path
// nor the environment names a private key.
var ErrNoKey = errors.New("no signing key")

// Signer signs image digests with one cosign private key. It is safe for
// concurrent use. The signature tag is read, extended and written back
// without a lock (as the cosign CLI does): two signers writing the same
// digest's tag at once, in this process or another, can both append (the
// same key: two signatures, either verifies) or lose one another's (two
// keys: signing again repairs it).
type Signer struct {
	keyPath string
	sv      signature.SignerVerifier
}

// LoadSigner reads the encrypted cosign private key at keyPath (as
// `cosign generate-key-pair` writes it) and decrypts it with password.
// Errors name the file and never contain the password or key bytes; a
// wrong password gives [ErrWrongPassword]. The password is not kept.
func LoadSigner(keyPath string, password []byte) (*Signer, error) {
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %s: %w", keyPath, pathErr(err))
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("reading signing key %s: not a PEM file", keyPath)
	}
	if blk.Type != SigstorePrivateKeyPemType && blk.Type != CosignPrivateKeyPemType {
		return nil, fmt.Errorf("reading signing key %s: a %q PEM block, not an encrypted cosign private key (%q, as cosign generate-key-pair writes)",
			keyPath, blk.Type, SigstorePrivateKeyPemType)
	}
	// The decryption error is dropped on purpose: what it could say about
	// the key material must not reach a log.
	der, err := encrypted.Decrypt(blk.Bytes, password)
	if err != nil {
		return nil, fmt.Errorf("decrypting signing key %s: %w", keyPath, ErrWrongPassword)
	}
	defer clear(der)
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("decrypting signing key %s: not a PKCS #8 private key", keyPath)
	}
	// The options cosign.LoadPrivateKey uses (ED25519ph for Ed25519 keys).
	sv, err := signature.LoadDefaultSignerVerifier(pk, options.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("loading signing key %s: unsupported key type %T", keyPath, pk)
	}
	return &Signer{keyPath: keyPath, sv: sv}, nil
}

// LoadSignerFromEnv is [LoadSigner] with the key and password taken the
// way imgctl's configuration names them: the key file is keyPath, or, when
// keyPath is empty, the file named by the environment variable keyEnv
// (when keyEnv is not empty); the password is $COSIGN_PASSWORD ([PasswordEnv]),
// empty when unset. With no key file named it returns [ErrNoKey].
func LoadSignerFromEnv(keyPath, keyEnv string) (*Signer, error) {
	if keyPath == "" && keyEnv != "" {
		keyPath = os.Getenv(keyEnv)
		if keyPath == "" {
			return nil, fmt.Errorf("%w: $%s is not set", ErrNoKey, keyEnv)
		}
	}
	if keyPath == "" {
		return nil, ErrNoKey
	}
	pw, set := os.LookupEnv(PasswordEnv)
	s, err := LoadSigner(keyPath, []byte(pw))
	if err != nil && !set && errors.Is(err, ErrWrongPassword) {
		return nil, fmt.Errorf("%w ($%s is not set: the password was empty)", err, PasswordEnv)
	}
	return s, err
}

// PublicKey returns the PEM-encoded public key matching the signer's
// private key, the cosign.pub that verifies its signatures.
func (s *Signer) PublicKey() ([]byte, error) {
	pub, err := s.sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading the public key of %s: %w", s.keyPath, err)
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key of %s: %w", s.keyPath, err)
	}
	return pemBytes, nil
}

// Sign signs the image manifest or index ref as
// `cosign sign --key K --tlog-upload=false` does and appends the signature
// to the `sha256-<hex>.sig` tag in ref's repository. opts are the
// go-containerregistry options for the registry (transport, auth,
// retries); with none, credentials come from the default keychain.
// remote.WithContext in opts is overridden by ctx.
//
// Sign is idempotent: when a signature of ref by this key is already
// there, it writes nothing. The image must exist: a missing one gives an
// error wrapping regclient.ErrNotFound.
func (s *Signer) Sign(ctx context.Context, ref name.Digest, opts ...remote.Option) error {
	ropts := remoteOptions(ctx, opts)
	if _, err := remote.Head(ref, ropts...); err != nil {
		if notFound(err) {
			return fmt.Errorf("signing %s: image %w", ref, regclient.ErrNotFound)
		}
		return fmt.Errorf("signing %s: reading the image: %w", ref, err)
	}
	pl, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return fmt.Errorf("signing %s: %w", ref, err)
	}
	tag, err := signatureTag(ref)
	if err != nil {
		return fmt.Errorf("signing %s: %w", ref, err)
	}
	sigs, err := readSignatures(tag, ropts)
	if err != nil {
		return fmt.Errorf("signing %s: reading its signatures: %w", ref, err)
	}
	// cosign's duplicate detector: a signature of the same payload (the
	// same layer digest: the payload has no timestamp) that this key
	// verifies. ECDSA signatures are randomised, so comparing the
	// signature bytes would not do.
	if sigs.find(pl, s.sv) {
		return nil
	}
	raw, err := s.sv.SignMessage(bytes.NewReader(pl), options.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("signing %s with %s: %w", ref, s.keyPath, err)
	}
	img, err := sigs.appendSignature(pl, base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		return fmt.Errorf("signing %s: %w", ref, err)
	}
	if err := remote.Write(tag, img, ropts...); err != nil {
		return fmt.Errorf("signing %s: writing the signature: %w", ref, err)
	}
	return nil
}

// remoteOptions are the caller's options with ctx last, so that it wins,
// and the default keychain when there are none (an explicit keychain or
// authenticator next to it would be an error in go-containerregistry).
func remoteOptions(ctx context.Context, opts []remote.Option) []remote.Option {
	ropts := make([]remote.Option, 0, len(opts)+2)
	if len(opts) == 0 {
		ropts = append(ropts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	ropts = append(ropts, opts...)
	return append(ropts, remote.WithContext(ctx))
}

// pathErr drops the path from an *fs.PathError, which the caller's message
// already names.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
