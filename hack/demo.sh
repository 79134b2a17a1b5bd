#!/usr/bin/env bash
# demo.sh: publish the example library images/ to a registry on localhost.
#
# Starts (or reuses) Debian's distribution registry on 127.0.0.1:$REGISTRY_PORT
# with its data in _output/registry (kept between runs) and a BuildKit daemon
# in _output/buildkitd, publishes the Debian base the library is built FROM
# (once), and publishes the library. Running it again is a no-op: nothing changed, nothing built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${REGISTRY_PORT:-5000}
out=$PWD/_output
imgctl=$PWD/bin/imgctl
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

say "Starting the registry (127.0.0.1:$port) and BuildKit"
hack/registry.sh start "$out/registry" "$port"
hack/buildkitd.sh start "$out/buildkitd"
export BUILDKIT_HOST=unix://$out/buildkitd/buildkitd.sock

# Every version the demo publishes is signed with a demo key (made once,
# kept in _output/demo/): a real pipeline keeps its key in the CI's secret
# store and sets IMGCTL_SIGN_KEY and COSIGN_PASSWORD the same way.
keys=$out/demo
export COSIGN_PASSWORD=${COSIGN_PASSWORD:-demo-only-password}
if [[ ! -f $keys/cosign.key ]]; then
	say "Making a demo signing key ($keys/cosign.key, cosign's format)"
	mkdir -p "$keys"
	(cd "$keys" && "$OLDPWD/bin/cosign" generate-key-pair --output-key-prefix cosign >/dev/null)
fi
export IMGCTL_SIGN_KEY=$keys/cosign.key

say "Validating the specs"
"$imgctl" validate images
"$imgctl" graph images

# The library is built FROM localhost:$port/mirror/debian:bookworm, the
# demo's stand-in for Docker Hub's debian:bookworm: a debootstrap rootfs
# published once with imgctl itself (hack/base/).
if ! skopeo inspect --tls-verify=false "docker://localhost:$port/mirror/debian:bookworm" >/dev/null 2>&1; then
	say "Publishing the Debian bookworm base the library is built FROM (debootstrap for amd64 and, through QEMU, arm64; hack/base/)"
	mkdir -p hack/base/build
	for arch in amd64 arm64; do
		# Made once in _output/rootfs (the end-to-end tests share them).
		hack/rootfs.sh "debian-$arch" "$out/rootfs/debian-$arch.tar"
		ln -f "$out/rootfs/debian-$arch.tar" "hack/base/build/debian-bookworm-$arch.tar" 2>/dev/null ||
			cp "$out/rootfs/debian-$arch.tar" "hack/base/build/debian-bookworm-$arch.tar"
	done
	"$imgctl" publish hack/base --progress plain
fi

# credit-risk pins r@2026.11.01: on a fresh registry, backfill that version
# (publish r as it would have been published that day) so the pin resolves.
if ! skopeo inspect --tls-verify=false "docker://localhost:$port/datasci/r:2026.11.01" >/dev/null 2>&1; then
	say "Backfilling r@2026.11.01, the version credit-risk is pinned to"
	"$imgctl" publish images --target r --date 2026-11-01 --progress plain
fi

say "Plan"
"$imgctl" plan images

say "Publish"
"$imgctl" publish images --progress plain

say "Status, read back from the registry"
"$imgctl" status images

say "What is inside: the packages of marketing's latest version, from its SBOM"
"$imgctl" status images marketing --packages | head -n 12
echo "…"

say "What changed in r since the version credit-risk is pinned to"
"$imgctl" diff images r 2>/dev/null || echo "(r has one version so far: nothing to compare)"

say "Verify what users pull (each latest version): signature (with the public key), SBOM and provenance for every platform"
"$imgctl" verify images --latest --key "$keys/cosign.pub"

say "The same, with tools that owe nothing to imgctl"
# The signature is on the index: its digest is the sha256 of the raw bytes.
ref=localhost:$port/datasci/python3@sha256:$(skopeo inspect --raw --tls-verify=false "docker://localhost:$port/datasci/python3:latest" | sha256sum | cut -d ' ' -f 1)
echo "cosign verify $ref:"
verified=$(bin/cosign verify --key "$keys/cosign.pub" --insecure-ignore-tlog=true --allow-http-registry "$ref" 2>/dev/null)
echo "${verified:0:300}…"
if [[ -x bin/docker-buildx ]]; then
	echo "python3-pandas in its SBOM, as buildx imagetools inspect reads it:"
	bin/docker-buildx imagetools inspect "$ref" --format '{{json .SBOM}}' 2>/dev/null |
		grep -A12 '"name": "python3-pandas"' | grep -m1 '"versionInfo"' || true
fi

say "Tags and platforms in the registry, as skopeo sees them"
for repo in debian tools python3 r marketing notebook credit-risk; do
	printf '%-12s %s\n' "$repo" "$(skopeo list-tags --tls-verify=false "docker://localhost:$port/datasci/$repo" | tr -d ' \n')"
	# The architectures of latest's index (attestations are "unknown").
	printf '%-12s platforms: %s\n' "" "$(skopeo inspect --raw --tls-verify=false "docker://localhost:$port/datasci/$repo:latest" |
		grep -o '"architecture": *"[^"]*"' | cut -d'"' -f4 | grep -vx unknown | sort -u | sed 's|^|linux/|' | paste -sd' ')"
done

say "The catalog: the static site data scientists open to choose an environment (docs/catalog.md)"
url=$("$imgctl" catalog images --key "$keys/cosign.pub" --out "$out/catalog")
echo "Open $url"
echo "(or serve $out/catalog with any web server; catalog.json holds the same data)"

say "Done. Run 'make demo' again: nothing changes. 'make stop' stops the daemons."
