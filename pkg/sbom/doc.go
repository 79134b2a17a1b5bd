// Package sbom gets imgctl's SBOM scanner image to a registry the BuildKit
// workers pull from, and names the exact image (by digest) BuildKit runs as
// the SBOM generator of a publish (attest:sbom=generator=…).
//
// The scanner itself is a separate Go module (scanner/ in this repository:
// syft as a library, BuildKit's scanner protocol), cross-compiled by
// hack/scanner.sh into DIR/linux_<arch>/imgctl-sbom-scanner, one per
// architecture of the BuildKit daemons (BuildKit runs the generator on the
// daemon's own platform; make builds this machine's, amd64 and arm64 on
// request). This package packages those binaries as a scratch
// image with BuildKit, pushes it by digest and tags it
// "sbom-scanner-<hash of the binaries>" in the scanner repository
// (default REGISTRY/imgctl-cache, which no image may be named), so a
// scanner is pushed once per version and a tag never moves. A pinned
// scanner (--sbom-scanner, policy.sbomScanner) is only resolved to its
// digest, never pushed.
//
// It must not build or read specs, plan, or sign; it never overwrites a tag
// that points elsewhere.
package sbom
