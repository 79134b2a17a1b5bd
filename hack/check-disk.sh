#!/usr/bin/env bash
# check-disk.sh [--go] GIB WHAT DIR...
#
# Fails, before anything starts, when a file system holding one of DIRs has
# less than GIB GiB free, naming WHAT needs it, where, and how much is
# free. make test and make demo call it first: a run that fills the disk
# half-way fails in a link or a BuildKit layer with "no space left on
# device", minutes in and far from the cause. A DIR that does not exist yet
# is checked through its nearest existing parent.
#
# --go: the Go caches (go env GOMODCACHE, GOCACHE) are DIRs too, and each
# that is still empty needs GO_CACHE_GIB (4) GiB more: what the project's
# modules and builds fill them with on a fresh machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GO_CACHE_GIB=4
go_caches=0
if [[ ${1:-} == --go ]]; then go_caches=1; shift; fi
[[ $# -ge 3 && $1 =~ ^[0-9]+$ ]] || { echo "usage: $0 [--go] GIB WHAT DIR..." >&2; exit 2; }
need=$1 what=$2
shift 2
if ((go_caches)); then
	for v in GOMODCACHE GOCACHE; do
		d=$(go env "$v")
		[[ -n $(ls -A "$d" 2>/dev/null) ]] || need=$((need + GO_CACHE_GIB))
		set -- "$@" "$d"
	done
fi

declare -A seen=()
short=()
for dir in "$@"; do
	d=$(abspath "$dir")
	while [[ ! -e $d ]]; do d=$(dirname "$d"); done
	# One line per file system: its mount point and the GiB free there.
	read -r mnt avail < <(df -P -B1G -- "$d" | awk 'NR==2 {print $6, $4}')
	[[ -n ${seen[$mnt]:-} ]] && continue
	seen[$mnt]=1
	if (( avail < need )); then
		short+=("$mnt (holding $dir) has $avail GiB free")
	fi
done
if (( ${#short[@]} > 0 )); then
	for s in "${short[@]}"; do log "error: $what needs $need GiB free: $s"; done
	log "free space first (old clones, $REPO_ROOT/_output, podman system prune), then run it again"
	exit 1
fi
