#!/usr/bin/env bash
# lock.sh: `imgctl lock` of the example library against the package steps
# of a plain build of the same images, on the same BuildKit daemon.
#
# Needs the demo's daemons up with the library published (make demo):
# BUILDKIT_HOST (default the demo's _output/buildkitd) and the registry on
# localhost:5000 (the external base and r@2026.11.01 the locks need).
#   1. lock: `imgctl lock --upgrade` of a copy of images/: every image
#      resolved again, every probe run (they never come from the cache),
#      the ancestors' locked builds from the daemon's cache as publish left
#      them;
#   2. relock: `imgctl lock` with nothing changed (reads the lock files);
#   3. the peer: the same copy with its locks removed (policy.lock
#      optional) published to a scratch registry repository prefix with
#      --progress plain: its apt/pip/r steps run for real (the unlocked
#      scripts are not in the daemon's cache), and their durations are
#      summed from BuildKit's "DONE" lines.
# Reports the seconds of each and the ratio lock / package steps (goal:
# at most 1) and relock (goal: under 2 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export BUILDKIT_HOST=${BUILDKIT_HOST:-unix://$PWD/_output/buildkitd/buildkitd.sock}
imgctl=${IMGCTL:-$PWD/bin/imgctl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r images "$work/locked"

t0=$(date +%s.%N)
"$imgctl" lock "$work/locked" --upgrade >"$work/lock.log"
t1=$(date +%s.%N)
"$imgctl" lock "$work/locked" >"$work/relock.log"
t2=$(date +%s.%N)

cp -r images "$work/plain"
rm -rf "$work/plain/locks"
sed -i 's/lock: "required"/lock: "optional"/; s|localhost:5000/datasci"|localhost:5000/bench-lock-'"$(date +%s)"'"|' "$work/plain/library.cue"
sed -i '/versionTags:/d' "$work/plain/python3.cue"
# credit-risk's pinned r@2026.11.01 lives under the demo's prefix: leave it
# out of the plain build (its package steps are in the lock's figure only).
awk 'BEGIN{skip=0} /^images: "credit-risk"/{skip=1} skip&&/^}/{skip=0; next} !skip' \
	"$work/plain/teams.cue" >"$work/teams.cue"
mv "$work/teams.cue" "$work/plain/teams.cue"
"$imgctl" publish "$work/plain" --progress plain --no-cache >"$work/plain.out" 2>"$work/plain.log"
pkg_steps=$(awk '
	/^#[0-9]+ \[.*\] RUN .*(apt-get install|pip install|Rscript -e)/ { split($1, a, " "); want[a[1]] = 1 }
	/^#[0-9]+ DONE [0-9.]+s$/ { if (want[$1]) { sub(/s$/, "", $3); sum += $3; want[$1] = 0 } }
	END { printf "%.1f", sum }' "$work/plain.log")

lock_s=$(echo "$t1 - $t0" | bc)
relock_s=$(echo "$t2 - $t1" | bc)
printf 'lock --upgrade (every image resolved):  %6.1f s\n' "$lock_s"
printf 'relock, nothing changed:                %6.2f s\n' "$relock_s"
printf 'package steps of a plain build (peer):  %6.1f s (without credit-risk)\n' "$pkg_steps"
printf 'lock / package steps:                   %6.2f\n' "$(echo "$lock_s / $pkg_steps" | bc -l)"
