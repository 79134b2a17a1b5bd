#!/usr/bin/env bash
# install-deps.sh [apt|tools|all]
#
# Installs everything the end-to-end tests and the demo need, idempotently:
#   apt:   runc docker-registry skopeo debootstrap busybox-static
#          ca-certificates (only the missing ones; apt-get update only when
#          something is missing).
#   tools: <repo>/bin/buildkitd, bin/buildctl and bin/cue, built with `go
#          build` from the pinned module in hack/tools (only when missing or
#          built from another version than hack/tools/go.mod pins).
# The default is all. Takes well under 2 s when nothing needs doing.
# Logs to stderr; prints nothing on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ca-certificates: go needs it to download modules on a minimal host.
APT_PACKAGES=(runc docker-registry skopeo debootstrap busybox-static ca-certificates)

# TOOLS maps each binary to "module package".
declare -A TOOLS=(
	[buildkitd]="github.com/moby/buildkit github.com/moby/buildkit/cmd/buildkitd"
	[buildctl]="github.com/moby/buildkit github.com/moby/buildkit/cmd/buildctl"
	[cue]="cuelang.org/go cuelang.org/go/cmd/cue"
)

TOOLS_DIR=$REPO_ROOT/hack/tools
BIN_DIR=$REPO_ROOT/bin

install_apt() {
	local missing=() p sudo=()
	for p in "${APT_PACKAGES[@]}"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			missing+=("$p")
		fi
	done
	if ((${#missing[@]} == 0)); then
		log "apt packages present: ${APT_PACKAGES[*]}"
		return 0
	fi
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
		sudo=(sudo)
	fi
	log "apt-get installing: ${missing[*]}"
	"${sudo[@]}" apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
}

# pinned_version MODULE prints the version hack/tools/go.mod requires.
pinned_version() {
	awk -v m="$1" '($1 == m || ($1 == "require" && $2 == m)) {
		for (i = 1; i <= NF; i++) if ($i ~ /^v[0-9]/) { print $i; exit } }' "$TOOLS_DIR/go.mod"
}

# built_version BINARY MODULE prints the version of MODULE recorded in the
# binary's build info, or nothing.
built_version() {
	[[ -x $1 ]] || return 0
	go version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

install_tools() {
	command -v go >/dev/null || die "go not found in PATH; install Go $(awk '$1 == "go" {print $2}' "$TOOLS_DIR/go.mod") first"
	local name mod pkg want have t0
	mkdir -p "$BIN_DIR"
	for name in buildkitd buildctl cue; do
		read -r mod pkg <<<"${TOOLS[$name]}"
		want=$(pinned_version "$mod")
		[[ -n $want ]] || die "hack/tools/go.mod does not require $mod"
		have=$(built_version "$BIN_DIR/$name" "$mod")
		if [[ $have == "$want" ]]; then
			log "bin/$name is $mod@$want"
			continue
		fi
		log "building bin/$name from $mod@$want (had: ${have:-none}); a cold build takes a minute or two"
		t0=$SECONDS
		# Version.Version makes `buildctl --version` and client.Info report
		# the real version instead of v0.0.0+unknown; cue ignores it.
		(cd "$TOOLS_DIR" && go build -mod=readonly -trimpath \
			-ldflags "-s -w -X github.com/moby/buildkit/version.Version=$want" \
			-o "$BIN_DIR/.$name.tmp" "$pkg")
		mv -f "$BIN_DIR/.$name.tmp" "$BIN_DIR/$name"
		log "built bin/$name in $((SECONDS - t0))s"
	done
}

case ${1:-all} in
apt) install_apt ;;
tools) install_tools ;;
all) install_apt; install_tools ;;
*) echo "usage: $0 [apt|tools|all]" >&2; exit 2 ;;
esac
