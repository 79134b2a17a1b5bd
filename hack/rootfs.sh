#!/usr/bin/env bash
# rootfs.sh debian|busybox OUT.tar
#
# debian:  a Debian bookworm minbase rootfs made with debootstrap from the
#          machine's configured apt mirror (override with DEBIAN_MIRROR and
#          DEBIAN_SECURITY_MIRROR), with /etc/apt/sources.list pointing at
#          the same mirror and the apt lists removed. Needs root.
# busybox: a tiny deterministic rootfs from /bin/busybox (busybox-static):
#          same busybox binary => same tar bytes.
#
# Does nothing when OUT.tar already exists. Concurrent callers for the same
# OUT.tar wait for each other (flock) and the tar appears atomically.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 debian|busybox[-amd64|-arm64] OUT.tar" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
kind=$1 out=$(abspath "$2")
host_arch=$(dpkg --print-architecture)
# KIND-ARCH builds for another Debian architecture; KIND alone for the host's.
arch=$host_arch
case $kind in
debian | busybox) ;;
debian-amd64 | debian-arm64 | busybox-amd64 | busybox-arm64) arch=${kind#*-} kind=${kind%%-*} ;;
*) usage ;;
esac

SUITE=bookworm
BUSYBOX_APPLETS=(sh ls cat echo mkdir cp mv rm ln chmod test "[" grep sed wget tar gzip env
	sleep true false printf id pwd touch head tail wc sort uniq find xargs which uname)

[[ -e $out ]] && { log "$out exists; skipping"; exit 0; }
mkdir -p "$(dirname "$out")"
exec 9>"$(dirname "$out")/.$(basename "$out").lock"
flock 9
[[ -e $out ]] && { log "$out exists; skipping"; exit 0; }

work=$(mktemp -d "$(dirname "$out")/.rootfs.XXXXXX")
root=$work/root
mkdir -p "$root"

# unmount_below unmounts anything debootstrap left mounted inside the work
# dir, so rm can never reach the host's /proc, /sys or /dev.
unmount_below() {
	local m
	awk -v d="$work/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	if awk -v d="$work/" 'index($2, d) == 1 {found = 1} END {exit !found}' /proc/mounts; then
		die "cannot unmount everything below $work; leaving it in place"
	fi
}

cleanup() {
	unmount_below
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# apt_entries prints "URI SUITE COMPONENT..." for every enabled deb entry in
# the host's apt configuration, in both the one-line and deb822 formats.
apt_entries() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		# deb [opts] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 {
			line = $2 " " $3; for (i = 4; i <= NF; i++) line = line " " $i; print line }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		awk '
		function flush(   u, s, i, j, nu, ns, us, ss) {
			if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "" && suites != "") {
				nu = split(uris, us, " "); ns = split(suites, ss, " ")
				for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print us[i] " " ss[j] " " comps
			}
			types = uris = suites = comps = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1); sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "components") comps = val
			else if (key == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$f"
	done
}

# first_uri SUITE prints the first configured URI serving SUITE.
first_uri() { apt_entries | awk -v s="$1" '$2 == s {print $1; exit}'; }

make_debian() {
	[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
	command -v debootstrap >/dev/null || die "debootstrap not found; run hack/install-deps.sh"
	local mirror security t0
	mirror=${DEBIAN_MIRROR:-$(first_uri "$SUITE")}
	mirror=${mirror:-http://deb.debian.org/debian}
	security=${DEBIAN_SECURITY_MIRROR:-$(first_uri "$SUITE-security")}
	security=${security:-${mirror%/debian}/debian-security}
	mirror=${mirror%/} security=${security%/}
	[[ $arch == "$host_arch" ]] || require_emulation "$arch"
	log "debootstrap --arch=$arch --variant=minbase $SUITE from $mirror (security: $security)"
	t0=$SECONDS
	if ! debootstrap --arch="$arch" --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
		tail -n 30 "$work/debootstrap.log" >&2
		[[ -r $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	log "debootstrap took $((SECONDS - t0))s"

	cat >"$root/etc/apt/sources.list" <<LIST
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
LIST
	# Like Debian's official images: no service starts during apt-get
	# install, no translations, no caches left behind.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
	unmount_below
	rm -rf --one-file-system "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/*.bin \
		"${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/log/bootstrap.log \
		"${root:?}"/dev/* "${root:?}"/proc/* "${root:?}"/sys/* "${root:?}"/tmp/* "${root:?}"/run/*
	mkdir -p "$root/var/lib/apt/lists/partial"
	: >"$root/etc/resolv.conf"
	echo localhost >"$root/etc/hostname"
	tar --sort=name --numeric-owner -C "$root" -cf "$work/out.tar" .
}

make_busybox() {
	local bb=${BUSYBOX:-/bin/busybox} a applets
	if [[ $arch != "$host_arch" ]]; then
		bb=$(foreign_busybox "$arch")
	fi
	[[ -x $bb ]] || die "$bb not found; run hack/install-deps.sh (busybox-static)"
	[[ $arch != "$host_arch" ]] || file_is_static "$bb" || die "$bb is not statically linked; install busybox-static"
	install -d -m 0755 "$root/bin" "$root/etc" "$root/root"
	install -d -m 1777 "$root/tmp"
	install -m 0755 "$bb" "$root/bin/busybox"
	# A foreign busybox runs through QEMU when its binfmt handler is on.
	applets=$("$bb" --list 2>/dev/null) || applets=$(printf '%s\n' "${BUSYBOX_APPLETS[@]}")
	for a in "${BUSYBOX_APPLETS[@]}"; do
		grep -qxF -- "$a" <<<"$applets" || die "busybox at $bb lacks applet $a"
		ln -s busybox "$root/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	chmod 0644 "$root/etc/passwd" "$root/etc/group"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
		-C "$root" -cf "$work/out.tar" .
}

# foreign_busybox ARCH downloads Debian's busybox-static for ARCH from the
# host's mirror (its Packages index names the file) into $work and prints
# the path of the static binary.
foreign_busybox() {
	local a=$1 mirror file
	mirror=${DEBIAN_MIRROR:-$(first_uri "$SUITE")}
	mirror=${mirror:-http://deb.debian.org/debian}
	mirror=${mirror%/}
	log "busybox-static for $a from $mirror"
	curl -fsSL "$mirror/dists/$SUITE/main/binary-$a/Packages.xz" | xz -d >"$work/Packages" ||
		die "cannot read $mirror/dists/$SUITE/main/binary-$a/Packages.xz"
	file=$(awk '/^Package: busybox-static$/ {p = 1} p && /^Filename:/ {print $2; exit}' "$work/Packages")
	[[ -n $file ]] || die "no busybox-static for $a in the $SUITE Packages index"
	curl -fsSL -o "$work/busybox.deb" "$mirror/$file" || die "cannot download $mirror/$file"
	dpkg-deb -x "$work/busybox.deb" "$work/bb"
	echo "$work/bb/bin/busybox"
}

# require_emulation ARCH stops unless a binfmt_misc handler runs ARCH's
# binaries (debootstrap's second stage runs them).
require_emulation() {
	local q=qemu-aarch64
	[[ $1 == arm64 ]] || die "no emulation set up for $1"
	grep -qx enabled "/proc/sys/fs/binfmt_misc/$q" 2>/dev/null ||
		die "$1 binaries cannot run here: run hack/install-deps.sh (qemu-user-static, binfmt_misc) first"
}

# file_is_static succeeds when the executable needs no dynamic loader.
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

"make_$kind"
mv -f "$work/out.tar" "$out"
log "wrote $out ($(du -h "$out" | cut -f1))"
