// Package verify checks what a published version carries, from the
// registry alone: a cosign signature (valid for a public key, or only
// present), an SBOM and a provenance attestation for every platform, and
// that the provenance names the commit the image's annotations record.
// imgctl verify reports it version by version; imgctl status shows the
// short form (signed, SBOM, provenance).
//
// It only reads the registry. It must not sign, build or write anything,
// and it knows nothing of specs or plans: callers say which versions.
package verify
