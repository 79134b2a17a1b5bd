// Package protocol implements BuildKit's SBOM generator protocol
// (docs/attestations/sbom-protocol.md and
// frontend/attestations/sbom/sbom.go in github.com/moby/buildkit v0.34.2):
// it reads the request BuildKit passes in the environment, catalogues each
// root filesystem named there with package catalog, and writes one in-toto
// statement with an SPDX predicate per filesystem into the destination
// directory, where BuildKit's unbundler (exporter/attestation/unbundle.go)
// picks them up.
//
// The environment:
//
//	BUILDKIT_SCAN_SOURCE         required: the built root filesystem
//	                             (BuildKit: /run/src/core/sbom, read-only)
//	BUILDKIT_SCAN_DESTINATION    required: where the statements go
//	                             (BuildKit: /run/out/, an empty scratch mount)
//	BUILDKIT_SCAN_SOURCE_EXTRAS  optional: a directory of further root
//	                             filesystems, one per entry (BuildKit:
//	                             /run/src/extras/ holding sbom-<name>, for
//	                             the Dockerfile frontend's build contexts and
//	                             stages; never set for a plain solve)
//	BUILDKIT_SCAN_<KEY>          the extra KEY=VALUE fields of
//	                             attest:sbom=generator=IMAGE,KEY=VALUE,…;
//	                             KEY is matched without regard to case
//
// The parameters understood (Params): NAME, VERSION, SELECT_CATALOGERS,
// FILES. Any other BUILDKIT_SCAN_ variable draws a warning and is ignored,
// so that a newer BuildKit adding variables does not break builds.
//
// The files written: <base>.spdx.json for each target, base being the last
// element of its path, so the built filesystem's is sbom.spdx.json (BuildKit
// recognises the core SBOM by the name before the first dot matching
// "sbom"). Each holds exactly one JSON object: an in-toto v1 statement with
// predicateType https://spdx.dev/Document, an empty subject list (BuildKit
// then makes the image manifest the subject; a subject written here would
// be kept verbatim, and the scanner cannot know the digest) and the SPDX
// 2.3 document as predicate. BuildKit refuses statements over 80 MiB; so
// does Run, with a hint.
//
// What it must not do: write anything else into the destination (BuildKit
// reads every entry there as a statement and fails on directories), scan a
// filesystem the environment does not name, or leave a partial statement
// behind when it fails.
package protocol
