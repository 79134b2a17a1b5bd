// Package signing signs container images with a cosign key and verifies
// those signatures, in cosign's format, with sigstore's signing library
// (github.com/sigstore/sigstore: the keys, the signer and verifier, the
// simple-signing payload), go-securesystemslib's key encryption and
// go-containerregistry for the signature image.
//
// It does not link cosign (github.com/sigstore/cosign/v2) itself: every
// cosign package, even pkg/oci, links Rekor's client, its OpenAPI models
// (go-openapi, govalidator) and TUF, ~180 packages whose initialisation
// was a third of `imgctl --help` (17 ms with them, 12 without;
// docs/performance.md). What cosign's code would add here is the layout
// of the signature image, a few lines ([signatureTag],
// [SimpleSigningMediaType], [SignatureAnnotation]). The tests hold the format to cosign's: they read
// what Sign writes with cosign's own packages and the cosign CLI, and
// Verify reads what they write; internal/layering keeps cosign out of the
// binary.
//
// A signature is exactly what `cosign sign --key K --tlog-upload=false`
// makes for a digest: a simple-signing payload naming the repository and
// the digest ([payload.Cosign]), signed with the private key, stored as a
// layer of the signatures image tagged `sha256-<hex>.sig` in the image's
// own repository, with the base64 signature in the layer's
// `dev.cosignproject.cosign/signature` annotation. So
//
//	cosign verify --key cosign.pub --insecure-ignore-tlog=true REPO@DIGEST
//
// accepts what [Signer.Sign] writes, and [Verifier.Verify] accepts what
// that cosign command writes. The tag scheme works on every registry,
// with or without the OCI 1.1 referrers API (distribution 2.8 has none).
// Signing an index digest covers everything the index names by digest
// (platform manifests, attestation manifests).
//
// Keys are cosign's: the encrypted private key `cosign generate-key-pair`
// writes (ECDSA P-256 by default) and its PEM public key. Verification is
// key-based and offline: no transparency log, no certificate, no SCT
// (`--insecure-ignore-tlog=true`). Its outcome is one of three: a valid
// signature (nil), [ErrUnsigned] (no signature at all), [ErrInvalidSignature]
// (signatures, none valid for the key), or another error (the registry
// could not be read); the sentinels work with errors.Is.
//
// Registry access goes through go-containerregistry remote options that
// the caller passes (transport, authentication, retries: regclient's
// ReadOptions and WriteOptions); plain HTTP is chosen by name.Insecure on
// the reference, as everywhere in imgctl.
//
// What this package must not do:
//   - put a password or private key bytes into an error, a log line or any
//     other output: errors name the key file and what went wrong, never
//     the secret (the password is taken from the caller or from
//     COSIGN_PASSWORD, used once to decrypt the key, and not kept);
//   - talk to anything but the registry: no Rekor, Fulcio, TUF or other
//     internet service, so it works offline;
//   - delete or rewrite anything but the signature tag of the digest it
//     signs, and that only by appending a signature: signing the same
//     digest with the same key again writes nothing;
//   - decide what to sign or which key to trust: that is the caller's
//     policy.
package signing
