// Package scanner is imgctl's SBOM generator for BuildKit, kept in a Go
// module of its own (github.com/imgctl/imgctl/scanner) so that syft and the
// ~840 modules it pulls in never enter imgctl's go.mod.
//
// BuildKit runs a generator image's entrypoint once per built platform, on
// the worker's native platform, with the built root filesystem mounted
// read-only at $BUILDKIT_SCAN_SOURCE, and attaches every in-toto statement
// the generator leaves in $BUILDKIT_SCAN_DESTINATION to the image index as
// an attestation (docs/attestations/sbom-protocol.md in BuildKit). The
// binary cmd/imgctl-sbom-scanner is that entrypoint; package protocol reads
// the request from the environment and writes the statements; package
// catalog catalogues one root filesystem with syft (as a library) and
// encodes SPDX 2.3 JSON, the only SBOM format BuildKit's unbundler accepts.
//
// What the scanner must not do: reach the network, write anywhere but the
// destination directory (and the temporary directory syft uses), write
// anything into the destination that is not a regular file holding one
// SPDX in-toto statement (BuildKit rejects the whole bundle otherwise),
// scan filesystems BuildKit did not name, or import anything from imgctl's
// main module. imgctl itself must not import this module: it ships the
// binary as an image (hack/scanner.sh builds it) and names that image in
// attest:sbom=generator=….
//
// go.mod replaces github.com/hashicorp/go-getter, which syft imports only
// for its snap source, with a stand-in that downloads nothing
// (stub/go-getter): a third of the packages, and of the cold build, fewer.
//
// This package holds no code; its tests check that imgctl's go.mod stays
// free of syft and that the scanner links no downloader.
package scanner
