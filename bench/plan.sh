#!/usr/bin/env bash
# plan.sh: `imgctl plan` on an unchanged, already published library.
#
# For each size (BENCH_SIZES, default "1000 5000"):
#   1. starts Debian's distribution registry on loopback with fresh storage
#      (hack/registry.sh), pushes a stand-in for the external base there
#      (bench/cmd/seed -upstream) and writes a library on it with
#      bench/cmd/genlib for registry 127.0.0.1:PORT/bench (every
#      BENCH_PIN_EVERY-th team, default 25, pins its family at 2026.11.01;
#      0 pins none);
#   2. seeds the registry with bench/cmd/seed, without building:
#      every image gets 2026.10.01 (superseded, tagged 2026.10.01-deprecated)
#      and 2026.11.01 (latest and its moving tags), each manifest carrying
#      exactly the annotations imgctl publish writes;
#   3. checks `imgctl plan --date 2026-11-24 --detailed-exitcode` finds
#      nothing to do (0 to build, 0 tags, 0 to deprecate);
#   4. counts registry HTTP requests with bench/cmd/planreqs (load, observe,
#      compute as `imgctl plan` does, through regclient.WithCounter), by
#      kind, HEADs of moving tags apart;
#   5. runs, BENCH_RUNS times (default 5) interleaved after a warm-up:
#      `imgctl plan`, `imgctl validate` (the CUE share of plan), `cue vet`
#      and bench/cmd/listget (go-containerregistry listing tags, getting
#      the newest manifest and HEADing each moving tag -- latest and the
#      image's tags -- of every repository, 8 at a time like plan's --jobs
#      default, no CUE). The peer of plan is cue vet + listget.
# With BENCH_WAIT_IDLE=PCT (e.g. 85), waits before the timed runs of each size
# until the CPUs were at least PCT% idle for 30 s in a row (at most
# BENCH_WAIT_MAX seconds, default 3600; then it measures anyway), for a
# machine shared with other work. The load average before and after each
# size's timed runs is reported either way.
# BENCH_IMGCTL names the imgctl binary (default bin/imgctl); a copy of it is
# run, so a rebuild of bin/imgctl during the benchmark changes nothing.
# Prints Markdown tables of medians to stdout (and BENCH_OUT/plan.md).
# Targets from the issue: <= 2 s wall at 1,000 images including CUE
# evaluation; <= 2 registry requests per unchanged image plus one per moving
# tag. Reported, not enforced: the script fails when the plan is not empty,
# when planreqs or listget read other than plan does, or a tool fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/lib.sh

SIZES=${BENCH_SIZES:-1000 5000}
RUNS=${BENCH_RUNS:-5}
PIN_EVERY=${BENCH_PIN_EVERY:-25}
OUT=${BENCH_OUT:-$PWD/_output/bench}
WAIT_IDLE=${BENCH_WAIT_IDLE:-0}
WAIT_MAX=${BENCH_WAIT_MAX:-3600}
DATE=2026-11-24
VERSION=2026.11.01
PREVIOUS=2026.10.01
IMGCTL_SRC=$(abspath "${BENCH_IMGCTL:-$PWD/bin/imgctl}")
CUE=$PWD/bin/cue

[[ -x $IMGCTL_SRC ]] || die "$IMGCTL_SRC missing: run make build"
[[ -x $CUE ]] || die "bin/cue missing: run hack/install-deps.sh tools"
command -v docker-registry >/dev/null || die "docker-registry missing: run hack/install-deps.sh apt"
if [[ ! -x /usr/bin/time ]]; then
	log "installing GNU time (apt)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
fi

# free_port prints a loopback port nothing answers on.
free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 30000))
		if ! { exec 3<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null; then
			echo "$p"
			return 0
		fi
		exec 3>&-
	done
	die "no free port found"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/imgctl-bench-plan.XXXXXX")
port=${BENCH_PORT:-$(free_port)}
regdir=
cleanup() {
	[[ -z $regdir ]] || hack/registry.sh stop "$regdir" "$port" || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$OUT"
IMGCTL=$work/imgctl
cp "$IMGCTL_SRC" "$IMGCTL"
for t in genlib seed planreqs listget; do
	go build -o "$work/$t" "./bench/cmd/$t"
done

# measure NAME CMD... runs CMD and appends "NAME wall cpu rssKB" to
# $work/samples; fails when CMD fails.
measure() {
	local name=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	if ! /usr/bin/time -f '%U %S %M' -o "$work/time.out" "$@" >"$work/cmd.out" 2>&1; then
		tail -n 20 "$work/cmd.out" >&2
		die "$name failed: $*"
	fi
	t1=$EPOCHREALTIME
	awk -v n="$name" -v a="$t0" -v b="$t1" -v l="$(tail -n 1 "$work/time.out")" 'BEGIN {
		split(l, f, " "); printf "%s %.4f %.3f %d\n", n, b - a, f[1] + f[2], f[3] }' >>"$work/samples"
}

# median NAME COLUMN: median of column 2 (wall), 3 (cpu) or 4 (rss KB).
median() {
	awk -v n="$1" '$1 == n { print $'"$2"' }' "$work/samples" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# wait_idle waits until the CPUs were WAIT_IDLE% idle for 30 s in a row,
# at most WAIT_MAX seconds.
wait_idle() {
	local a b t0=$SECONDS quiet=0 pct
	((WAIT_IDLE > 0)) || return 0
	while ((quiet < 3 && SECONDS - t0 < WAIT_MAX)); do
		read -r -a a < <(head -n 1 /proc/stat)
		sleep 10
		read -r -a b < <(head -n 1 /proc/stat)
		# cpu user nice system idle iowait irq softirq steal
		local busy=$((b[1] + b[2] + b[3] + b[5] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[5] - a[6] - a[7] - a[8]))
		local idle=$((b[4] - a[4]))
		pct=$((100 * idle / (busy + idle + 1)))
		if ((pct >= WAIT_IDLE)); then quiet=$((quiet + 1)); else quiet=0; fi
	done
	((quiet >= 3)) || log "machine not ${WAIT_IDLE}% idle after ${WAIT_MAX}s: measuring anyway"
}

# loadavg prints the 1-minute load average.
loadavg() { cut -d ' ' -f 1 /proc/loadavg; }

# kv KEY prints KEY's value from the key=value line in $work/planreqs.out.
kv() { tr ' ' '\n' <"$work/planreqs.out" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

times=$work/times.md
reqs=$work/requests.md
loads=$work/loads.md
{
	echo "| images | load average before the timed runs | after |"
	echo "|---:|---:|---:|"
} >"$loads"
{
	echo "| images | imgctl plan wall (s) | imgctl plan CPU (s) | imgctl plan peak RSS (MB) | imgctl validate wall (s) | cue vet wall (s) | listget wall (s) | peer: cue vet + listget (s) | plan / peer | target <= 2 s |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|"
} >"$times"
{
	echo "| images | HTTP requests | per image | tag lists | manifest GETs | moving-tag HEADs (per image) | other reads (external base, per run) | pinning children (distinct pins) | reads per image | budget per image (2 + moving tags) | listget requests per image | target <= 2 per image + 1 per moving tag |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|"
} >"$reqs"

for n in $SIZES; do
	lib=$work/lib$n
	regdir=$work/registry$n
	registry=127.0.0.1:$port/bench
	hack/registry.sh start "$regdir" "$port"
	# The root's external base is served too: plan reads its platforms.
	upstream=$("$work/seed" -upstream "127.0.0.1:$port/upstream/debian")
	"$work/genlib" -n "$n" -registry "$registry" -root-from "$upstream" \
		-pin-every "$PIN_EVERY" -pin-version "$VERSION" -out "$lib"
	log "$n images: seeding $registry"
	"$work/seed" -version "$VERSION" -previous "$PREVIOUS" "$lib"

	log "$n images: checking the plan is empty"
	rc=0
	"$IMGCTL" plan --date "$DATE" --detailed-exitcode "$lib" >"$work/plan.out" 2>&1 || rc=$?
	want="Plan: 0 to build, $n unchanged, 0 tags to write, 0 to deprecate."
	if [[ $rc -ne 0 || $(tail -n 1 "$work/plan.out") != "$want" ]]; then
		tail -n 20 "$work/plan.out" >&2
		die "imgctl plan over the seeded registry is not empty (exit $rc); want: $want"
	fi
	log "$n images: $(tail -n 1 "$work/plan.out")"

	"$work/planreqs" -date "$DATE" "$lib" >"$work/planreqs.out"
	log "$n images: planreqs: $(cat "$work/planreqs.out")"
	[[ $(kv build) == 0 && $(kv unchanged) == "$n" && $(kv tags) == 0 && $(kv deprecate) == 0 ]] ||
		die "planreqs disagrees with imgctl plan: $(cat "$work/planreqs.out")"
	[[ $(kv moving) == "$(kv moving_tags)" ]] || die "planreqs: $(kv moving) moving-tag HEADs for $(kv moving_tags) moving tags"

	: >"$work/samples"
	wait_idle
	load_before=$(loadavg)
	log "$n images: warm-up (load average $load_before)"
	measure warm "$IMGCTL" plan --date "$DATE" "$lib"
	measure warm "$IMGCTL" validate "$lib"
	# shellcheck disable=SC2016 # expanded by the inner sh
	measure warm sh -c 'cd "$1" && exec "$2" vet .' sh "$lib" "$CUE"
	measure warm "$work/listget" -registry "$registry" "$lib"
	# The peer must read what plan reads: every moving tag, once.
	heads=$(tr ' ' '\n' <"$work/cmd.out" | awk -F= '$1 == "heads" { print $2 }')
	[[ $heads == "$(kv moving)" ]] || die "listget read $heads moving tags, plan $(kv moving): the peer is not doing plan's reads"
	for ((i = 1; i <= RUNS; i++)); do
		log "$n images: run $i/$RUNS"
		# Rotate the order so that no tool always runs first.
		cmds=(plan validate cue listget)
		for ((j = 0; j < 4; j++)); do
			# shellcheck disable=SC2016 # expanded by the inner sh
			case ${cmds[(i + j) % 4]} in
			plan) measure plan "$IMGCTL" plan --date "$DATE" "$lib" ;;
			validate) measure validate "$IMGCTL" validate "$lib" ;;
			cue) measure cue sh -c 'cd "$1" && exec "$2" vet .' sh "$lib" "$CUE" ;;
			listget)
				measure listget "$work/listget" -registry "$registry" "$lib"
				cp "$work/cmd.out" "$work/listget.out"
				;;
			esac
		done
	done
	load_after=$(loadavg)
	echo "| $n | $load_before | $load_after |" >>"$loads"
	pw=$(median plan 2) pc=$(median plan 3) pm=$(median plan 4)
	vw=$(median validate 2) cw=$(median cue 2) lw=$(median listget 2)
	lreq=$(tr ' ' '\n' <"$work/listget.out" | awk -F= '$1 == "per_image" { print $2 }')
	awk -v n="$n" -v pw="$pw" -v pc="$pc" -v pm="$pm" -v vw="$vw" -v cw="$cw" -v lw="$lw" 'BEGIN {
		peer = cw + lw
		v = "-"; if (n == 1000) v = (pw <= 2 ? "met" : "missed")
		printf "| %d | %.3f | %.2f | %.0f | %.3f | %.3f | %.3f | %.3f | %.2f | %s |\n",
			n, pw, pc, pm / 1024, vw, cw, lw, peer, pw / peer, v }' >>"$times"
	awk -v n="$n" -v r="$(kv requests)" -v l="$(kv list_tags)" -v m="$(kv manifest)" -v mv="$(kv moving)" \
		-v h="$(($(kv resolve) + $(kv marked) + $(kv bases)))" -v b="$(kv bases)" -v p="$(kv pins)" -v d="$(kv distinct_pins)" \
		-v reads="$(kv reads)" -v budget="$(kv budget)" -v lr="$lreq" 'BEGIN {
		# The target is per unchanged image: the registry reads Observe makes
		# for images, without the auth handshake and the reads of the
		# external base, once per run: at most 2 per image plus one HEAD per
		# moving tag that exists.
		printf "| %d | %d | %.3f | %d | %d | %d (%.3f) | %d (%d) | %d (%d) | %.3f | %.3f | %.3f | %s |\n",
			n, r, r / n, l, m, mv, mv / n, h, b, p, d, reads / n, budget / n, lr, (reads <= budget ? "met" : "missed") }' >>"$reqs"
	cp "$work/samples" "$OUT/plan-$n.samples"
	cp "$work/planreqs.out" "$OUT/plan-$n.requests"

	hack/registry.sh stop "$regdir" "$port"
	regdir=
	rm -rf "$lib" "$work/registry$n"
done

{
	echo "plan benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, median of $RUNS interleaved runs, pins every ${PIN_EVERY}th team"
	echo
	cat "$times"
	echo
	cat "$reqs"
	echo
	cat "$loads"
} | tee "$OUT/plan.md"
