// Package attest reads the attestations BuildKit attaches to an image
// index: per platform, the attestation manifest (vnd.docker.reference.type
// attestation-manifest) that points at the platform's image manifest, and
// in it the in-toto statements — the SPDX SBOM and the SLSA provenance.
// verify, status and the tests use it to check what a publish left in the
// registry without trusting imgctl's own account of it.
//
// It only reads: it must not write to a registry, build, sign or verify
// signatures (see pkg/signing), and it knows nothing of specs or plans.
package attest
