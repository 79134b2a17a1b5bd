#!/usr/bin/env bash
# check-disk.sh GIB WHAT DIR...
#
# Fails, before anything starts, when a file system holding one of DIRs has
# less than GIB GiB free, naming WHAT needs it, where, and how much is
# free. make test and make demo call it first: a run that fills the disk
# half-way fails in a link or a BuildKit layer with "no space left on
# device", minutes in and far from the cause. A DIR that does not exist yet
# is checked through its nearest existing parent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 3 && $1 =~ ^[0-9]+$ ]] || { echo "usage: $0 GIB WHAT DIR..." >&2; exit 2; }
need=$1 what=$2
shift 2

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
