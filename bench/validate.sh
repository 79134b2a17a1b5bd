#!/usr/bin/env bash
# validate.sh: `imgctl validate` against its peer `cue vet` on generated libraries.
#
# For each size (BENCH_SIZES, default "100 1000 5000") writes a library with
# bench/cmd/genlib (one image per file; library.cue imports imgctl.dev/schema,
# vendored in cue.mod/pkg, so `cue vet` evaluates every file against the same
# schema imgctl applies), then runs `bin/imgctl validate DIR` and `bin/cue vet`
# (in DIR, on the package ".") BENCH_RUNS times each (default 5), interleaved
# and alternating which goes first, after one unmeasured warm-up run of each.
# Wall time is measured around each process, CPU (user+sys) and peak RSS
# come from /usr/bin/time. Prints a Markdown table of medians and ratios
# imgctl/cue to stdout (and to BENCH_OUT/validate.md); logs go to stderr.
#
# BENCH_PRESETS=1 writes the libraries with size presets and node pools
# (genlib -presets). BENCH_PRESETS=compare also measures, per size of at
# least 1,000, imgctl validate of the library with presets against the same
# library without (interleaved, the same runs), and prints that ratio in a
# second table: presets must not make validate slower.
#
# The issue's target is imgctl <= 1.5x cue vet in time and memory at 1,000
# and 5,000 images. The script reports it; it does not fail on it (timings
# on a shared machine are noisy). It fails when either tool rejects a library.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/lib.sh

SIZES=${BENCH_SIZES:-100 1000 5000}
RUNS=${BENCH_RUNS:-5}
OUT=${BENCH_OUT:-$PWD/_output/bench}
TARGET=1.5
IMGCTL=$PWD/bin/imgctl
CUE=$PWD/bin/cue

[[ -x $IMGCTL ]] || die "bin/imgctl missing: run make build"
[[ -x $CUE ]] || die "bin/cue missing: run hack/install-deps.sh tools"
if [[ ! -x /usr/bin/time ]]; then
	log "installing GNU time (apt)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/imgctl-bench-validate.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"
go build -o "$work/genlib" ./bench/cmd/genlib

# measure NAME DIR CMD... runs CMD in DIR and appends "NAME wall cpu rssKB"
# to $work/samples. Fails when CMD fails.
measure() {
	local name=$1 dir=$2 t0 t1 line
	shift 2
	t0=$EPOCHREALTIME
	if ! (cd "$dir" && /usr/bin/time -f '%U %S %M' -o "$work/time.out" "$@" >"$work/cmd.out" 2>&1); then
		cat "$work/cmd.out" >&2
		die "$name failed in $dir: $*"
	fi
	t1=$EPOCHREALTIME
	line=$(tail -n 1 "$work/time.out")
	awk -v n="$name" -v a="$t0" -v b="$t1" -v l="$line" 'BEGIN {
		split(l, f, " "); printf "%s %.4f %.3f %d\n", n, b - a, f[1] + f[2], f[3] }' >>"$work/samples"
}

# median NAME COLUMN prints the median of a column (2 wall, 3 cpu, 4 rss)
# of NAME's samples.
median() {
	awk -v n="$1" '$1 == n { print $'"$2"' }' "$work/samples" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { # verdict N RATIO...
	local n=$1 r
	shift
	((n >= 1000)) || { echo "-"; return; }
	for r in "$@"; do
		awk -v r="$r" -v t="$TARGET" 'BEGIN { exit !(r > t) }' && { echo "missed"; return; }
	done
	echo "met"
}

table=$work/table.md
{
	echo "| images | imgctl validate wall (s) | cue vet wall (s) | wall ratio | imgctl CPU (s) | cue vet CPU (s) | CPU ratio | imgctl peak RSS (MB) | cue vet peak RSS (MB) | RSS ratio | target <= ${TARGET}x |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|"
} >"$table"

PRESETS=${BENCH_PRESETS:-}
genflags=()
[[ -n $PRESETS ]] && genflags=(-presets)
for n in $SIZES; do
	lib=$work/lib$n
	"$work/genlib" -n "$n" -registry 127.0.0.1:5000/bench "${genflags[@]}" -out "$lib"
	log "$n images: warm-up"
	: >"$work/samples"
	measure warm "$lib" "$IMGCTL" validate .
	grep -q "^ok: $n images" "$work/cmd.out" || die "imgctl validate did not load $n images: $(cat "$work/cmd.out")"
	measure warm "$lib" "$CUE" vet .
	for ((i = 1; i <= RUNS; i++)); do
		log "$n images: run $i/$RUNS"
		if ((i % 2)); then
			measure imgctl "$lib" "$IMGCTL" validate .
			measure cue "$lib" "$CUE" vet .
		else
			measure cue "$lib" "$CUE" vet .
			measure imgctl "$lib" "$IMGCTL" validate .
		fi
	done
	iw=$(median imgctl 2) cw=$(median cue 2)
	ic=$(median imgctl 3) cc=$(median cue 3)
	im=$(median imgctl 4) cm=$(median cue 4)
	rw=$(ratio "$iw" "$cw") rc=$(ratio "$ic" "$cc") rm=$(ratio "$im" "$cm")
	awk -v n="$n" -v iw="$iw" -v cw="$cw" -v rw="$rw" -v ic="$ic" -v cc="$cc" -v rc="$rc" \
		-v im="$im" -v cm="$cm" -v rm="$rm" -v v="$(verdict "$n" "$rw" "$rm")" 'BEGIN {
		printf "| %d | %.3f | %.3f | %s | %.2f | %.2f | %s | %.0f | %.0f | %s | %s |\n",
			n, iw, cw, rw, ic, cc, rc, im / 1024, cm / 1024, rm, v }' >>"$table"
	cp "$work/samples" "$OUT/validate-$n.samples"
	if [[ $PRESETS == compare ]] && ((n >= 1000)); then
		plain=$work/plain$n
		"$work/genlib" -n "$n" -registry 127.0.0.1:5000/bench -out "$plain"
		: >"$work/samples"
		measure warm "$plain" "$IMGCTL" validate .
		for ((i = 1; i <= RUNS; i++)); do
			log "$n images: presets against none, run $i/$RUNS"
			if ((i % 2)); then
				measure presets "$lib" "$IMGCTL" validate .
				measure plain "$plain" "$IMGCTL" validate .
			else
				measure plain "$plain" "$IMGCTL" validate .
				measure presets "$lib" "$IMGCTL" validate .
			fi
		done
		pw=$(median presets 2) nw=$(median plain 2) pc=$(median presets 3) nc=$(median plain 3)
		printf '| %d | %.3f | %.3f | %s | %.2f | %.2f | %s |\n' "$n" "$pw" "$nw" "$(ratio "$pw" "$nw")" \
			"$pc" "$nc" "$(ratio "$pc" "$nc")" >>"$work/presets.md"
		cp "$work/samples" "$OUT/validate-presets-$n.samples"
		rm -rf "$plain"
	fi
	rm -rf "$lib"
done

{
	echo "validate benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, median of $RUNS interleaved runs"
	echo
	cat "$table"
	if [[ -s $work/presets.md ]]; then
		echo
		echo "imgctl validate with size presets against the same library without:"
		echo
		echo "| images | presets wall (s) | none wall (s) | wall ratio | presets CPU (s) | none CPU (s) | CPU ratio |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
		cat "$work/presets.md"
	fi
} | tee "$OUT/validate.md"
