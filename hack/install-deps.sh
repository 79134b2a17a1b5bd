#!/usr/bin/env bash
# install-deps.sh [certs|apt|binfmt|tools [NAME...]|all]
#
# Installs everything the end-to-end tests and the demo need, idempotently:
#   certs:  ca-certificates alone (what go needs to download modules), so
#           that Go builds can start while the other packages install.
#   apt:    runc docker-registry skopeo debootstrap busybox-static podman (and
#           its settings for this kind of machine, PODMAN_CONF)
#           ca-certificates qemu-user-static binfmt-support chromium jupyterhub
#           jq openssl
#           (only the missing ones; apt-get update only when something is
#           missing).
#   binfmt: QEMU user emulation for foreign-architecture RUN steps (linux/arm64
#           images on an amd64 host): mounts binfmt_misc at
#           /proc/sys/fs/binfmt_misc when it is not mounted (nothing mounts
#           it at boot here), enables the handlers qemu-user-static installs
#           (update-binfmts --enable) and checks that qemu-aarch64 is
#           registered and enabled. Needs root unless already done. buildkitd
#           detects emulators when it starts: start (or restart) it after
#           this step; hack/buildkitd.sh start runs it first.
#   tools:  <repo>/bin/buildkitd, bin/buildctl, bin/cue, bin/cosign and
#           bin/docker-buildx, built with `go build` from the pinned module in
#           hack/tools (only when missing or built from another version than
#           hack/tools/go.mod pins), all in one go build with the flags of
#           bin/imgctl and the scanner (lib.sh's GO_BUILD_FLAGS). Cold, after
#           bin/imgctl: buildkitd and buildctl ~4 CPU-minutes, cosign ~8
#           more (docs/performance.md, issue 24).
# The default is all (apt, binfmt, tools). Takes well under 2 s when nothing
# needs doing.
# Logs to stderr; prints nothing on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ca-certificates: go needs it to download modules on a minimal host.
# qemu-user-static, binfmt-support: emulation for foreign platforms (binfmt).
# curl, xz-utils: hack/rootfs.sh reads the mirror's index for a foreign busybox.
# The shellcheck package: make test checks every script under hack/ and bench/.
# chromium: the headless browser the catalog's tests (and its screenshots) use.
# podman: runs the published images as a data scientist would (tests, demo);
# configured for this kind of machine by podman_conf.
# jupyterhub (Debian's 3.0, with its configurable-http-proxy): the launcher
# test starts a real hub configured from imgctl launcher jupyterhub.
# jq, openssl: the demo checks a signature with them (and skopeo), owing
# nothing to imgctl or cosign (hack/demo.sh check_signature).
APT_PACKAGES=(runc docker-registry skopeo debootstrap busybox-static ca-certificates
	qemu-user-static binfmt-support curl xz-utils chromium shellcheck podman jupyterhub
	jq openssl)

# PODMAN_CONF is podman's drop-in for machines without systemd and without
# CAP_SYS_RESOURCE (raising rlimits fails with "error setting rlimit type
# 7"): fixed ulimits, cgroupfs, events to a file.
PODMAN_CONF=/etc/containers/containers.conf.d/50-imgctl.conf

# TOOLS maps each binary to "module package"; TOOL_ORDER is the build order.
declare -A TOOLS=(
	[buildkitd]="github.com/moby/buildkit github.com/moby/buildkit/cmd/buildkitd"
	[buildctl]="github.com/moby/buildkit github.com/moby/buildkit/cmd/buildctl"
	[cue]="cuelang.org/go cuelang.org/go/cmd/cue"
	[cosign]="github.com/sigstore/cosign/v2 github.com/sigstore/cosign/v2/cmd/cosign"
	[docker-buildx]="github.com/docker/buildx github.com/docker/buildx/cmd/buildx"
)
TOOL_ORDER=(buildkitd buildctl cue cosign docker-buildx)

# TOOL_VERSION_VARS names, per binary, the variables that carry its version
# (set with -X to the pinned version), so that `buildctl --version`,
# client.Info, `cosign version` and `docker-buildx version` report it rather
# than v0.0.0+unknown. cue reads its version from the build info.
declare -A TOOL_VERSION_VARS=(
	[buildkitd]="github.com/moby/buildkit/version.Version"
	[buildctl]="github.com/moby/buildkit/version.Version"
	[cue]=""
	[cosign]="sigs.k8s.io/release-utils/version.gitVersion"
	[docker-buildx]="github.com/docker/buildx/version.Version"
)

TOOLS_DIR=$REPO_ROOT/hack/tools
BIN_DIR=$REPO_ROOT/bin

# install_apt [PACKAGE...] installs the packages (default APT_PACKAGES)
# that are missing.
install_apt() {
	local missing=() p sudo=() want=("$@")
	((${#want[@]})) || want=("${APT_PACKAGES[@]}")
	for p in "${want[@]}"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			missing+=("$p")
		fi
	done
	if ((${#missing[@]} == 0)); then
		log "apt packages present: ${want[*]}"
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

# podman_conf writes PODMAN_CONF when it is missing.
podman_conf() {
	[[ -f $PODMAN_CONF ]] && return 0
	command -v podman >/dev/null || return 0
	[[ $(id -u) -eq 0 ]] || die "podman: need root to write $PODMAN_CONF"
	log "podman: writing $PODMAN_CONF"
	mkdir -p "$(dirname "$PODMAN_CONF")"
	cat >"$PODMAN_CONF" <<'CONF'
# Written by imgctl's hack/install-deps.sh for machines without systemd
# and without CAP_SYS_RESOURCE.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# install_binfmt registers the QEMU user-emulation handlers with the kernel
# (see the header). The check that it is done reads two small files.
install_binfmt() {
	if binfmt_enabled aarch64; then
		log "binfmt: qemu-aarch64 handler enabled ($(binfmt_handlers))"
		return 0
	fi
	[[ $(id -u) -eq 0 ]] || die "binfmt: need root to mount binfmt_misc and register the QEMU handlers; run as root: $0 binfmt"
	if [[ ! -x /usr/bin/qemu-aarch64-static ]] || ! command -v update-binfmts >/dev/null; then
		die "binfmt: qemu-user-static or binfmt-support is not installed; run $0 apt first"
	fi
	if ! mountpoint -q "$BINFMT_DIR"; then
		grep -qw binfmt_misc /proc/filesystems ||
			die "binfmt: this kernel has no binfmt_misc: foreign-platform RUN steps cannot be emulated here"
		log "binfmt: mounting binfmt_misc at $BINFMT_DIR"
		mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" ||
			die "binfmt: cannot mount binfmt_misc at $BINFMT_DIR (a container without CAP_SYS_ADMIN?)"
	fi
	[[ $(<"$BINFMT_DIR/status") == enabled ]] || echo 1 >"$BINFMT_DIR/status"
	log "binfmt: update-binfmts --enable"
	update-binfmts --enable >&2 || log "binfmt: update-binfmts --enable failed; checking qemu-aarch64 anyway"
	# update-binfmts leaves a registered handler that was switched off (echo
	# 0 >ENTRY) as it is: switch the QEMU ones back on.
	local f
	for f in "$BINFMT_DIR"/qemu-*; do
		if [[ -e $f && $(head -n 1 "$f") == disabled ]]; then
			log "binfmt: re-enabling ${f##*/}"
			echo 1 >"$f"
		fi
	done
	binfmt_enabled aarch64 ||
		die "binfmt: $BINFMT_DIR/qemu-aarch64 is not registered and enabled after update-binfmts --enable; see update-binfmts --display qemu-aarch64"
	log "binfmt: enabled QEMU handlers: $(binfmt_handlers); restart buildkitd if it was running so that it sees them"
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

# install_tools [NAME...] builds the tools named (default: TOOL_ORDER) that
# are missing or stale, all in one `go build -o DIR/ PKG...`: one action
# graph, so that a package two tools share (buildkitd and buildctl share
# most of theirs) compiles once and the links run side by side, with
# GO_BUILD_ENV and GO_BUILD_FLAGS (lib.sh), the configuration of bin/imgctl
# and the scanner, whose packages it reuses from GOCACHE. The -X flags of
# every tool go to the one link line: -X for a variable a binary does not
# have does nothing.
install_tools() {
	command -v go >/dev/null || die "go not found in PATH; install Go $(awk '$1 == "go" {print $2}' "$TOOLS_DIR/go.mod") first"
	local name mod pkg want have t0 var tmp
	local names=("$@") build=() pkgs=() xflags=()
	((${#names[@]})) || names=("${TOOL_ORDER[@]}")
	for name in "${names[@]}"; do
		[[ -n ${TOOLS[$name]:-} ]] || die "no tool $name (tools: ${TOOL_ORDER[*]})"
		read -r mod pkg <<<"${TOOLS[$name]}"
		want=$(pinned_version "$mod")
		[[ -n $want ]] || die "hack/tools/go.mod does not require $mod"
		have=$(built_version "$BIN_DIR/$name" "$mod")
		if [[ $have == "$want" ]]; then
			log "bin/$name is $mod@$want"
			continue
		fi
		log "building bin/$name from $mod@$want (had: ${have:-none})"
		build+=("$name")
		pkgs+=("$pkg")
		for var in ${TOOL_VERSION_VARS[$name]}; do
			xflags+=("-X $var=$want")
		done
	done
	((${#build[@]})) || return 0
	mkdir -p "$BIN_DIR"
	tmp=$(mktemp -d "$BIN_DIR/.tools.XXXXXX")
	log "building ${build[*]} in one go build; cold, that takes minutes"
	t0=$SECONDS
	if ! (cd "$TOOLS_DIR" && env "${GO_BUILD_ENV[@]}" go build "${GO_BUILD_FLAGS[@]}" \
		-ldflags "-s -w ${xflags[*]}" -o "$tmp/" "${pkgs[@]}"); then
		rm -rf "$tmp"
		die "go build of ${build[*]} failed"
	fi
	for name in "${build[@]}"; do
		read -r mod pkg <<<"${TOOLS[$name]}"
		mv -f "$tmp/${pkg##*/}" "$BIN_DIR/$name"
	done
	rmdir "$tmp"
	log "built ${build[*]/#/bin/} in $((SECONDS - t0))s"
}

case ${1:-all} in
certs) install_apt ca-certificates ;;
apt) install_apt; podman_conf ;;
binfmt) install_binfmt ;;
tools) shift; install_tools "$@" ;;
all) install_apt; podman_conf; install_binfmt; install_tools ;;
*) echo "usage: $0 [certs|apt|binfmt|tools [NAME...]|all]" >&2; exit 2 ;;
esac
