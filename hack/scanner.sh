#!/usr/bin/env bash
# scanner.sh [native|amd64|arm64|all]
#
# Builds imgctl's BuildKit SBOM scanner, the separate Go module in scanner/
# (syft as a library; its modules stay out of imgctl's go.mod), as static
# Linux binaries for the image BuildKit runs as attest:sbom generator:
#   bin/scanner/linux_amd64/imgctl-sbom-scanner
#   bin/scanner/linux_arm64/imgctl-sbom-scanner
# BuildKit runs the generator on the worker's native platform (whatever the
# platforms of the image it scans), hence one binary per architecture of the
# BuildKit daemons, not of the images. The default, native, builds this
# machine's (what make test and make demo need: their daemon runs here);
# all builds amd64 and arm64, for a pool with daemons of both.
#
# A binary is rebuilt only when its inputs changed: the SHA-256 of the
# scanner's non-test Go files, go.mod, go.sum, this script and the Go
# version is recorded beside it (imgctl-sbom-scanner.inputs), and matching
# it takes well under 2 s. A cold build takes minutes per architecture
# (~990 packages; ~4 CPU-minutes after bin/imgctl and the tools, whose
# packages it shares); it runs under nice.
# Prints the path of each binary on stdout; logs to stderr.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCANNER_DIR=$REPO_ROOT/scanner
OUT_DIR=$REPO_ROOT/bin/scanner
NAME=imgctl-sbom-scanner
PKG=./cmd/$NAME
# The flags that make the binary: static, reproducible (no paths, no VCS
# stamp, no symbol table): lib.sh's GO_BUILD_ENV and GO_BUILD_FLAGS, shared
# with bin/imgctl and the tools, so that what they have in common compiles
# once.
BUILD_FLAGS=("${GO_BUILD_FLAGS[@]}" -ldflags "-s -w")

# inputs_hash ARCH prints the SHA-256 of everything the ARCH binary is made
# from.
inputs_hash() {
	{
		echo "GOOS=linux GOARCH=$1 ${GO_BUILD_ENV[*]} go build ${BUILD_FLAGS[*]} $PKG"
		go env GOVERSION
		(cd "$REPO_ROOT" && find scanner -type f \( \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod -o -name go.sum \) \
			-not -path '*/testdata/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		sha256sum <"${BASH_SOURCE[0]}"
	} | sha256sum | cut -d' ' -f1
}

# build ARCH builds bin/scanner/linux_ARCH/imgctl-sbom-scanner unless it is
# up to date, and prints its path.
build() {
	local arch=$1 dir bin stamp want t0
	dir=$OUT_DIR/linux_$arch
	bin=$dir/$NAME
	stamp=$bin.inputs
	want=$(inputs_hash "$arch")
	if [[ -x $bin && -s $stamp && $(<"$stamp") == "$want" ]]; then
		log "bin/scanner/linux_$arch/$NAME is up to date"
		echo "$bin"
		return 0
	fi
	log "building bin/scanner/linux_$arch/$NAME (a cold build takes several minutes)"
	mkdir -p "$dir"
	rm -f "$stamp"
	t0=$SECONDS
	(cd "$SCANNER_DIR" && env "${GO_BUILD_ENV[@]}" GOOS=linux GOARCH="$arch" \
		nice -n 5 go build "${BUILD_FLAGS[@]}" -o "$dir/.$NAME.tmp" "$PKG")
	mv -f "$dir/.$NAME.tmp" "$bin"
	echo "$want" >"$stamp"
	log "built bin/scanner/linux_$arch/$NAME in $((SECONDS - t0))s ($(du -m "$bin" | cut -f1) MB)"
	echo "$bin"
}

command -v go >/dev/null || die "go not found in PATH; install Go $(awk '$1 == "go" {print $2}' "$SCANNER_DIR/go.mod") first"
case ${1:-native} in
native) build "$(go env GOHOSTARCH)" ;;
amd64 | arm64) build "$1" ;;
all) build amd64; build arm64 ;;
*) echo "usage: $0 [native|amd64|arm64|all]" >&2; exit 2 ;;
esac
