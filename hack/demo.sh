#!/usr/bin/env bash
# demo.sh [all|show]: publish the example library images/ to a registry on
# localhost, then show the result.
#
# all (the default; make demo): starts (or reuses) Debian's distribution
# registry on 127.0.0.1:$REGISTRY_PORT with its data in _output/registry
# (kept between runs) and a BuildKit daemon in _output/buildkitd, publishes
# the Debian base the library is built FROM (once), publishes the library,
# then runs the show steps. Running it again is a no-op: nothing changed,
# nothing built.
#
# show: only the steps after publishing, read back from the registry:
# status, one image's packages, a diff, verify, the checks with tools that
# owe nothing to imgctl (the signature with skopeo, jq and openssl; cosign
# and buildx too when they are built: make deps) and the catalog. The end-to-end tests run it against a small library they
# publish (internal/cli/demo_e2e_test.go), so what make demo does after its
# publish is tested by make test. Its inputs, with the demo's defaults:
#   IMGCTL            the imgctl binary (bin/imgctl)
#   COSIGN            the cosign CLI (bin/cosign), used when it exists
#   DEMO_IMAGES       the library's directory (images)
#   DEMO_KEYS         the directory holding cosign.pub (_output/demo)
#   DEMO_CATALOG      where the catalog is written (_output/catalog)
#   DEMO_LAUNCHERS    where the launchers are written (_output/launchers)
#   DEMO_PACKAGES_OF  the image whose packages are listed (marketing)
#   DEMO_DIFF_OF      the image whose last change is shown (r)
#   DEMO_SIGNED       the image checked with cosign and buildx (python3)
#   REGISTRY_PORT     the registry's port on localhost (5000)
#
# No pipeline here stops reading early (no "| head", "| grep -q",
# "| grep -m"): under pipefail a writer killed by SIGPIPE when its reader
# stops fails the demo (issue 24). Output is captured first, then cut.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${REGISTRY_PORT:-5000}
out=$PWD/_output
imgctl=${IMGCTL:-$PWD/bin/imgctl}
cosign=${COSIGN:-$PWD/bin/cosign}
images=${DEMO_IMAGES:-images}
keys=${DEMO_KEYS:-$out/demo}
# say prints a step's title with the time since the script started.
say() { printf '\n\033[1m==> %s\033[0m [%d:%02d]\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)) >&2; }

# first_lines N TEXT prints the first N lines of TEXT, then "…" when it has
# more.
first_lines() {
	local n=$1 i=0 line
	while IFS= read -r line; do
		if ((i == n)); then
			echo "…"
			return 0
		fi
		printf '%s\n' "$line"
		i=$((i + 1))
	done <<<"$2"
}

# check_signature REPO@DIGEST PUB checks a cosign signature of DIGEST with
# tools that owe nothing to imgctl nor to cosign's code: skopeo copies the
# signature image (tag sha256-<hex>.sig, as cosign writes it), jq reads its
# layers, and openssl checks each layer's ECDSA signature (the
# dev.cosignproject.cosign/signature annotation) over the layer, the
# simple-signing payload, with the public key PUB. A signature counts when
# openssl verifies it and its payload names DIGEST; then it prints
# "openssl: Verified OK" and that payload. It fails when no signature does.
check_signature() {
	local ref=$1 pub=$2 repo digest tmp layer sig rc=1
	repo=${ref%@*} digest=${ref#*@}
	tmp=$(mktemp -d)
	if skopeo copy -q --src-tls-verify=false "docker://$repo:${digest/:/-}.sig" "dir:$tmp/sig" >&2; then
		while read -r layer sig; do
			[[ -f $tmp/sig/${layer#sha256:} ]] || continue
			printf '%s' "$sig" | base64 -d >"$tmp/der" 2>/dev/null || continue
			openssl dgst -sha256 -verify "$pub" -signature "$tmp/der" "$tmp/sig/${layer#sha256:}" >/dev/null 2>&1 || continue
			[[ $(jq -r '.critical.image["docker-manifest-digest"]' "$tmp/sig/${layer#sha256:}") == "$digest" ]] || continue
			echo "openssl: Verified OK, by $(basename "$pub"), a payload naming $digest:"
			cat "$tmp/sig/${layer#sha256:}"
			echo
			rc=0
			break
		done < <(jq -r '.layers[] | "\(.digest) \(.annotations["dev.cosignproject.cosign/signature"] // "")"' "$tmp/sig/manifest.json")
	fi
	rm -rf "$tmp"
	((rc == 0)) || echo "demo: no signature of $ref verifies with $pub (openssl)" >&2
	return $rc
}

# show runs the steps after publishing (see the header).
show() {
	local pkgs_of=${DEMO_PACKAGES_OF:-marketing} diff_of=${DEMO_DIFF_OF:-r} signed=${DEMO_SIGNED:-python3}
	local catalog=${DEMO_CATALOG:-$out/catalog}
	local text repo raw ref verified sbom url

	say "Status, read back from the registry"
	"$imgctl" status "$images"

	if [[ -f $images/locks/$pkgs_of.lock.json ]]; then
		say "What git declares $pkgs_of installs: its lock ($images/locks/$pkgs_of.lock.json; imgctl lock)"
		first_lines 14 "$(cat "$images/locks/$pkgs_of.lock.json")"
	fi

	say "What is inside: the packages of $pkgs_of's latest version, from its SBOM"
	text=$("$imgctl" status "$images" "$pkgs_of" --packages)
	first_lines 12 "$text"

	say "What changed in $diff_of with its latest version"
	# diff needs two versions; any other failure is the demo's.
	if text=$("$imgctl" diff "$images" "$diff_of" 2>&1); then
		printf '%s\n' "$text"
	elif [[ $text == *"the first version: nothing to compare"* ]]; then
		echo "($diff_of has one version so far: nothing to compare)"
	else
		printf '%s\n' "$text" >&2
		return 1
	fi

	say "Verify what users pull (each latest version): signature (with the public key), SBOM and provenance for every platform"
	"$imgctl" verify "$images" --latest --key "$keys/cosign.pub"

	# The repositories, as status reports them (REGISTRY/NAME).
	local -A repo_of=()
	local name
	while IFS=$'\t' read -r name repo; do
		repo_of[$name]=$repo
	done < <("$imgctl" status "$images" --json | sed -n '
		s/^      "name": "\([^"]*\)",$/\1/; t name
		s/^      "repository": "\([^"]*\)",$/\1/; t repo
		d
		:name
		h; d
		:repo
		H; x; s/\n/\t/; p')
	[[ -n ${repo_of[$signed]:-} ]] || { echo "demo: no image $signed in $images" >&2; return 1; }

	say "The same, with tools that owe nothing to imgctl"
	# The signature is on the index: its digest is the sha256 of the raw bytes.
	raw=$(skopeo inspect --raw --tls-verify=false "docker://${repo_of[$signed]}:latest")
	ref=${repo_of[$signed]}@sha256:$(printf '%s' "$raw" | sha256sum | cut -d ' ' -f 1)
	echo "The signature of $ref, checked with skopeo, jq and openssl:"
	verified=$(check_signature "$ref" "$keys/cosign.pub")
	echo "${verified:0:300}…"
	if [[ -x $cosign ]]; then
		echo "cosign verify $ref:"
		verified=$("$cosign" verify --key "$keys/cosign.pub" --insecure-ignore-tlog=true --allow-http-registry "$ref" 2>/dev/null)
		echo "${verified:0:300}…"
	fi
	if [[ -x bin/docker-buildx ]]; then
		echo "The SBOM of $ref as buildx imagetools inspect reads it (make deps builds buildx):"
		sbom=$(bin/docker-buildx imagetools inspect "$ref" --format '{{json .SBOM}}')
		first_lines 1 "$(grep -F '"versionInfo"' <<<"$sbom" || true)"
	fi

	say "Tags and platforms in the registry, as skopeo sees them"
	for name in $(printf '%s\n' "${!repo_of[@]}" | LC_ALL=C sort); do
		repo=${repo_of[$name]}
		printf '%-12s %s\n' "$name" "$(skopeo list-tags --tls-verify=false "docker://$repo" | tr -d ' \n')"
		# The architectures of latest's index (attestations are "unknown").
		raw=$(skopeo inspect --raw --tls-verify=false "docker://$repo:latest")
		printf '%-12s platforms: %s\n' "" "$(grep -o '"architecture": *"[^"]*"' <<<"$raw" | cut -d'"' -f4 |
			{ grep -vx unknown || true; } | sort -u | sed 's|^|linux/|' | paste -sd' ')"
	done

	say "Where sessions start: size presets on the node pools, and the launchers' lists (docs/launchers.md)"
	"$imgctl" sizes "$images"
	local launchers=${DEMO_LAUNCHERS:-$out/launchers}
	"$imgctl" launcher jupyterhub "$images" --out "$launchers/jupyterhub-values.yaml"
	"$imgctl" launcher kubeflow "$images" --out "$launchers/spawner_ui_config.yaml"
	"$imgctl" launcher json "$images" --out "$launchers/launchers.json"
	echo "Wrote $launchers/: jupyterhub-values.yaml (helm upgrade … -f), spawner_ui_config.yaml, launchers.json. The first profile:"
	first_lines 40 "$(cat "$launchers/jupyterhub-values.yaml")"

	say "The catalog: the static site data scientists open to choose an environment (docs/catalog.md)"
	url=$("$imgctl" catalog "$images" --key "$keys/cosign.pub" --out "$catalog")
	echo "Open $url"
	echo "(or serve $catalog with any web server; catalog.json holds the same data)"
}

# publish_all sets up the daemons, the signing key and the base, and
# publishes the library.
publish_all() {
	say "Starting the registry (127.0.0.1:$port) and BuildKit"
	hack/registry.sh start "$out/registry" "$port"
	hack/buildkitd.sh start "$out/buildkitd"
	export BUILDKIT_HOST=unix://$out/buildkitd/buildkitd.sock

	# Every version the demo publishes is signed with a demo key (made once,
	# kept in _output/demo/): a real pipeline keeps its key in the CI's secret
	# store and sets IMGCTL_SIGN_KEY and COSIGN_PASSWORD the same way.
	export COSIGN_PASSWORD=${COSIGN_PASSWORD:-demo-only-password}
	if [[ ! -f $keys/cosign.key ]]; then
		say "Making a demo signing key ($keys/cosign.key, cosign's format: imgctl keygen)"
		mkdir -p "$keys"
		"$imgctl" keygen "$keys" >/dev/null
	fi
	export IMGCTL_SIGN_KEY=$keys/cosign.key

	say "Validating the specs"
	"$imgctl" validate "$images"
	"$imgctl" graph "$images"
	say "Checking that every image's lock is current (images/locks/; the pull-request check)"
	"$imgctl" lock "$images" --check

	# The library is built FROM localhost:$port/library/debian:bookworm, the
	# demo's stand-in for Docker Hub's debian:bookworm (docker.io/library/
	# debian): a debootstrap rootfs published once with imgctl itself
	# (hack/base/). policy.mirror (images/library.cue) makes publish copy it
	# to localhost:$port/mirror/library/debian and build FROM the copy.
	if ! skopeo inspect --tls-verify=false "docker://localhost:$port/library/debian:bookworm" >/dev/null 2>&1; then
		say "Publishing the Debian bookworm base the library is built FROM (debootstrap for amd64 and, through QEMU, arm64; hack/base/)"
		mkdir -p hack/base/build
		# Made once in _output/rootfs (the end-to-end tests share them); the
		# two architectures at once (arm64's second stage runs under QEMU).
		local arch pids=()
		for arch in amd64 arm64; do
			hack/rootfs.sh "debian-$arch" "$out/rootfs/debian-$arch.tar" &
			pids+=($!)
		done
		for arch in "${pids[@]}"; do wait "$arch"; done
		for arch in amd64 arm64; do
			ln -f "$out/rootfs/debian-$arch.tar" "hack/base/build/debian-bookworm-$arch.tar" 2>/dev/null ||
				cp "$out/rootfs/debian-$arch.tar" "hack/base/build/debian-bookworm-$arch.tar"
		done
		"$imgctl" publish hack/base --progress plain
	fi

	# credit-risk pins r@2026.11.01: on a fresh registry, backfill that version
	# (publish r as it would have been published that day) so the pin resolves.
	if ! skopeo inspect --tls-verify=false "docker://localhost:$port/datasci/r:2026.11.01" >/dev/null 2>&1; then
		say "Backfilling r@2026.11.01, the version credit-risk is pinned to"
		"$imgctl" publish "$images" --target r --date 2026-11-01 --progress plain
	fi

	say "Mirroring the external bases into policy.mirror (publish does it too; a scheduled job runs this)"
	"$imgctl" mirror "$images"

	say "Plan"
	"$imgctl" plan "$images"

	say "Publish"
	"$imgctl" publish "$images" --progress plain
}

case ${1:-all} in
all)
	publish_all
	show
	say "Done. Run 'make demo' again: nothing changes. 'make stop' stops the daemons."
	;;
show) show ;;
*) echo "usage: $0 [all|show]" >&2; exit 2 ;;
esac
