#!/usr/bin/env bash
# bench/attest.sh — what SBOMs, provenance and signing cost a cold publish,
# imgctl against docker buildx bake doing the same work (issue 11).
#
# Publishes the graph of 40 small images bench/publish/gen writes (linux/amd64
# only; see bench/publish.sh) cold — a new buildkitd state directory and a new
# registry prefix for every run — to the same BuildKit daemon and registry
# with
#   imgctl-attest  bin/imgctl publish DIR --progress quiet --sign-key KEY
#                  --sbom-scanner SCANNER (policy defaults: SBOM on,
#                  provenance "min"; every version signed with cosign)
#   imgctl-nosign  the same without --sign-key (attestations, no signatures)
#   imgctl-plain   the same graph with policy: {sbom: false, provenance:
#                  false} appended to the spec, no key
#   bake-attest    bin/docker-buildx bake --sbom=generator=SCANNER
#                  --provenance=mode=min (remote driver on the same buildkitd)
#   bake-plain     bake with --provenance=false and no SBOM, what
#                  bench/publish.sh runs
# ROUNDS times, interleaved (the tools' order rotates from round to round).
# SCANNER is imgctl's own SBOM scanner (bin/scanner, `make scanner`), pushed
# once with `imgctl scanner push --repo 127.0.0.1:PORT/scan/imgctl-cache` and
# named by digest, so both tools run the very same generator image; every
# cold run pulls it anew into the fresh daemon. The cosign key pair is made
# once (bin/cosign generate-key-pair). imgctl's build cache export (its
# default) stays on in every imgctl run, as in bench/publish.sh.
#
# Checks, outside the measurements: every imgctl run printed "40 images
# built"; in round 1 `imgctl verify --latest --key PUB` passes for all 40
# images of imgctl-attest; every bake-attest leaf carries attestation
# manifests and every plain leaf none.
#
# Each run starts with buildkitd idle and is charged the CPU buildkitd spends
# until it is idle again (as in bench/publish.sh). It prints every sample, the
# load average before and after, and a Markdown table of medians: wall and CPU
# per tool, the ratios bake/imgctl, and what attestations (and signing alone)
# cost per image.
#
# Environment:
#   ROUNDS             rounds (default 2, at least 1)
#   BENCH_TOOLS        tools to run (default "imgctl-attest imgctl-nosign
#                      imgctl-plain bake-attest bake-plain")
#   BENCH_ATTEST_PORT  registry port on 127.0.0.1 (default 5066)
#   BENCH_ATTEST_DIR   work directory (default a new /tmp/imgctl-bench-attest.*);
#                      results.tsv, the logs and the graph stay there
#   BENCH_OUT          where attest.md and attest.samples are copied
#                      (default _output/bench)
#   BENCH_NICE         niceness of everything it starts (default 10)
#   BENCH_REPORT       a results.tsv: only print its report, run nothing
#
# Needs root (buildkitd), bin/imgctl, bin/buildkitd, bin/buildctl,
# bin/docker-buildx, bin/cosign (make deps build; bench/publish.sh builds
# docker-buildx) and bin/scanner (make scanner).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"

N_IMAGES=40

# report RESULTS LOAD0 LOAD1 prints the samples and the table of medians.
report() {
	awk -F'\t' -v load0="$2" -v load1="$3" -v nimg="$N_IMAGES" '
function median(a, key,   n, i, j, t, v) {
	n = cnt[key]
	if (n == 0) return -1
	for (i = 1; i <= n; i++) v[i] = a[key, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function num(v) { return (v < 0) ? "–" : sprintf("%.2f", v) }
function ratio(a, b) { return (a < 0 || b <= 0) ? "–" : sprintf("%.2f×", a / b) }
function per(a, b) { return (a < 0 || b < 0) ? "–" : sprintf("%.2f", (a - b) / nimg) }
NR == 1 { next }
{ key = $2; n = ++cnt[key]; wall[key, n] = $3; cpu[key, n] = $4; runs[key] = runs[key] sprintf(" %7.2f", $3); cpus[key] = cpus[key] sprintf(" %7.2f", $4) }
END {
	nt = split("imgctl-attest imgctl-nosign imgctl-plain bake-attest bake-plain", tl, " ")
	printf "Every cold run, rounds in order (seconds):\n"
	for (t = 1; t <= nt; t++) if (cnt[tl[t]]) printf "  %-14s wall%s\n  %-14s CPU %s\n", tl[t], runs[tl[t]], "", cpus[tl[t]]
	printf "\nLoad average (1, 5, 15 min) before: %s, after: %s\n\n", load0, load1
	for (t = 1; t <= nt; t++) { w[tl[t]] = median(wall, tl[t]); c[tl[t]] = median(cpu, tl[t]); r = (cnt[tl[t]] > r) ? cnt[tl[t]] : r }
	printf "Cold publish of the %d-image graph, medians of %d round(s) (seconds; CPU = client + buildkitd with runc/RUN + registry):\n\n", nimg, r
	printf "| | imgctl wall | bake wall | bake/imgctl wall | imgctl CPU | bake CPU | bake/imgctl CPU |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|\n"
	printf "| SBOM + provenance min (imgctl also signs) | %s | %s | %s | %s | %s | %s |\n", num(w["imgctl-attest"]), num(w["bake-attest"]), ratio(w["bake-attest"], w["imgctl-attest"]), num(c["imgctl-attest"]), num(c["bake-attest"]), ratio(c["bake-attest"], c["imgctl-attest"])
	printf "| SBOM + provenance min, imgctl not signing | %s | %s | %s | %s | %s | %s |\n", num(w["imgctl-nosign"]), num(w["bake-attest"]), ratio(w["bake-attest"], w["imgctl-nosign"]), num(c["imgctl-nosign"]), num(c["bake-attest"]), ratio(c["bake-attest"], c["imgctl-nosign"])
	printf "| no attestations | %s | %s | %s | %s | %s | %s |\n", num(w["imgctl-plain"]), num(w["bake-plain"]), ratio(w["bake-plain"], w["imgctl-plain"]), num(c["imgctl-plain"]), num(c["bake-plain"]), ratio(c["bake-plain"], c["imgctl-plain"])
	printf "\nPer image (seconds, difference of medians / %d):\n\n", nimg
	printf "| cost per image | imgctl wall | bake wall | imgctl CPU | bake CPU |\n|---|---:|---:|---:|---:|\n"
	printf "| SBOM + provenance + signing (attest − plain) | %s | %s | %s | %s |\n", per(w["imgctl-attest"], w["imgctl-plain"]), per(w["bake-attest"], w["bake-plain"]), per(c["imgctl-attest"], c["imgctl-plain"]), per(c["bake-attest"], c["bake-plain"])
	printf "| SBOM + provenance (nosign − plain) | %s | %s | %s | %s |\n", per(w["imgctl-nosign"], w["imgctl-plain"]), per(w["bake-attest"], w["bake-plain"]), per(c["imgctl-nosign"], c["imgctl-plain"]), per(c["bake-attest"], c["bake-plain"])
	printf "| signing (attest − nosign) | %s | – | %s | – |\n", per(w["imgctl-attest"], w["imgctl-nosign"]), per(c["imgctl-attest"], c["imgctl-nosign"])
}' "$1"
}

if [[ -n ${BENCH_REPORT:-} ]]; then
	report "$BENCH_REPORT" "${BENCH_LOAD0:-?}" "$(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi

ROUNDS=${ROUNDS:-2}
PORT=${BENCH_ATTEST_PORT:-5066}
OUT=${BENCH_OUT:-$REPO_ROOT/_output/bench}
NICE=${BENCH_NICE:-10}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, got $ROUNDS"
read -r -a TOOLS <<<"${BENCH_TOOLS:-imgctl-attest imgctl-nosign imgctl-plain bake-attest bake-plain}"
for t in "${TOOLS[@]}"; do
	case $t in
	imgctl-attest | imgctl-nosign | imgctl-plain | bake-attest | bake-plain) ;;
	*) die "BENCH_TOOLS: unknown tool $t" ;;
	esac
done

BIN=$REPO_ROOT/bin
for b in imgctl buildkitd buildctl docker-buildx cosign; do
	[[ -x $BIN/$b ]] || die "$BIN/$b missing; run make deps build (bench/publish.sh builds docker-buildx)"
done
[[ -x $BIN/scanner/linux_amd64/imgctl-sbom-scanner ]] || die "bin/scanner missing; run make scanner"

# Everything started from here (buildkitd, the registry, the clients) runs
# niced: the machine is shared.
renice -n "$NICE" -p $$ >/dev/null

WORK=$(abspath "${BENCH_ATTEST_DIR:-$(mktemp -d /tmp/imgctl-bench-attest.XXXXXX)}")
mkdir -p "$WORK"
[[ -z $(ls -A "$WORK") ]] || die "$WORK is not empty"
REG_DIR=$WORK/registry
BK_DIR=$WORK/buildkitd
BK_ADDR=unix://$BK_DIR/buildkitd.sock
LOG=$WORK/log
RESULTS=$WORK/results.tsv
mkdir -p "$LOG" "$OUT"
printf 'round\ttool\twall_s\tcpu_s\tload1\n' >"$RESULTS"
# Private copies: a rebuild during the benchmark changes nothing.
IMGCTL=$WORK/imgctl
cp "$BIN/imgctl" "$IMGCTL"
BUILDX=$BIN/docker-buildx
export DOCKER_CONFIG=$WORK/docker-config
# Only the attestations asked for on the command line.
export BUILDX_NO_DEFAULT_ATTESTATIONS=1
unset BUILDKIT_HOST IMGCTL_SIGN_KEY IMGCTL_SBOM_SCANNER
export COSIGN_PASSWORD=bench-attest

cleanup() {
	"$REPO_ROOT/hack/buildkitd.sh" stop "$BK_DIR" 2>/dev/null || true
	"$REPO_ROOT/hack/registry.sh" stop "$REG_DIR" "$PORT" 2>/dev/null || true
	rm -rf "$REG_DIR/storage" "$BK_DIR/root"
	find "$WORK" -name 'busybox*.tar' -delete 2>/dev/null || true
}
trap cleanup EXIT

fresh_buildkitd() {
	"$REPO_ROOT/hack/buildkitd.sh" stop "$BK_DIR" 2>>"$LOG/daemons.log"
	rm -rf "$BK_DIR/root"
	"$REPO_ROOT/hack/buildkitd.sh" start "$BK_DIR" 2>>"$LOG/daemons.log"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "work directory $WORK; tools ${TOOLS[*]}; rounds $ROUNDS; load $LOAD0"

ROOTFS=$REPO_ROOT/_output/rootfs/busybox.tar
"$REPO_ROOT/hack/rootfs.sh" busybox "$ROOTFS" 2>>"$LOG/daemons.log" || die "hack/rootfs.sh busybox failed; see $LOG/daemons.log"
(cd "$REPO_ROOT" && go run ./bench/publish/gen -out "$WORK/graph" -rootfs "$ROOTFS")
IFS=$'\t' read -r LEAF _ <"$WORK/graph/leaf"
"$IMGCTL" validate "$WORK/graph/imgctl" >>"$LOG/validate.log"
# The plain graph: attestations off by policy.
cp -r "$WORK/graph" "$WORK/graph-plain"
printf '\n// bench/attest.sh: no attestations.\npolicy: {sbom: false, provenance: false}\n' >>"$WORK/graph-plain/imgctl/library.cue"
"$IMGCTL" validate "$WORK/graph-plain/imgctl" >>"$LOG/validate.log"

"$REPO_ROOT/hack/registry.sh" start "$REG_DIR" "$PORT" 2>>"$LOG/daemons.log"
fresh_buildkitd
"$BUILDX" create --name bench --driver remote "$BK_ADDR" >>"$LOG/daemons.log" 2>&1
"$BUILDX" inspect --bootstrap --builder bench >>"$LOG/daemons.log" 2>&1

mkdir -p "$WORK/keys"
(cd "$WORK/keys" && "$BIN/cosign" generate-key-pair >>"$LOG/daemons.log" 2>&1)
KEY=$WORK/keys/cosign.key PUB=$WORK/keys/cosign.pub
SCANNER=$("$IMGCTL" scanner push "$WORK/graph/imgctl" --repo "127.0.0.1:$PORT/scan/imgctl-cache" \
	--scanner-dir "$BIN/scanner" --buildkit "$BK_ADDR" 2>>"$LOG/scanner.log" | tail -n 1)
[[ $SCANNER == *@sha256:* ]] || die "imgctl scanner push printed no digest reference ($SCANNER); see $LOG/scanner.log"
log "scanner $SCANNER"

ticks() {
	local f
	read -r -a f <"/proc/$1/stat"
	shift
	local sum=0 i
	for i in "$@"; do sum=$((sum + f[i - 1])); done
	echo "$sum"
}
HZ=$(getconf CLK_TCK)
cpu_now() {
	echo $(($(ticks "$(<"$BK_DIR/buildkitd.pid")" 14 15 16 17) + \
		$(ticks "$(<"$REG_DIR/registry.pid")" 14 15 16 17) + $(ticks $$ 16 17)))
}
# settle waits until buildkitd has been idle for 4 s in a row, at most 60 s
# (see bench/publish.sh).
settle() {
	local pid quiet=0 i prev cur
	pid=$(<"$BK_DIR/buildkitd.pid")
	prev=$(ticks "$pid" 14 15 16 17)
	for ((i = 0; i < 120 && quiet < 8; i++)); do
		sleep 0.5
		cur=$(ticks "$pid" 14 15 16 17)
		if (((cur - prev) * 1000 / HZ < 20)); then quiet=$((quiet + 1)); else quiet=0; fi
		prev=$cur
	done
}

in_dir() { local d=$1; shift; cd "$d" && "$@"; }

# measure ROUND TOOL CMD... runs CMD, logging to LOG/rROUND-TOOL.log, and
# records its wall time and CPU (until buildkitd settles).
measure() {
	local round=$1 tool=$2 t0 t1 c0 c1 secs cpu out
	shift 2
	out=$LOG/r$round-$tool.log
	settle
	c0=$(cpu_now)
	t0=$EPOCHREALTIME
	if ! ("$@") >"$out" 2>&1; then
		log "round $round $tool failed; last lines of $out:"
		tail -n 30 "$out" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	settle
	c1=$(cpu_now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
	printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$secs" "$cpu" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
	log "round $round: $tool ${secs}s wall, ${cpu}s CPU (load $(cut -d' ' -f1 /proc/loadavg))"
}

# attestations REF prints how many attestation manifests (platform
# unknown/unknown) the index REF has.
attestations() {
	skopeo inspect --tls-verify=false --raw "docker://$1" |
		jq '[.manifests // [] | .[] | select(.platform.os == "unknown")] | length'
}

run_tool() {
	local round=$1 tool=$2 prefix dir args n
	prefix=127.0.0.1:$PORT/r$round-$tool
	dir=$WORK/r$round/$tool
	mkdir -p "$dir"
	case $tool in
	imgctl-plain) cp -r "$WORK/graph-plain/." "$dir/" ;;
	*) cp -r "$WORK/graph/." "$dir/" ;;
	esac
	fresh_buildkitd
	case $tool in
	imgctl-*)
		args=(publish "$dir/imgctl" --registry "$prefix" --progress quiet --buildkit "$BK_ADDR" --scanner-dir "$BIN/scanner")
		[[ $tool == imgctl-plain ]] || args+=(--sbom-scanner "$SCANNER")
		[[ $tool == imgctl-attest ]] && args+=(--sign-key "$KEY")
		measure "$round" "$tool" "$IMGCTL" "${args[@]}"
		grep -q "^$N_IMAGES images built" "$LOG/r$round-$tool.log" ||
			die "round $round $tool did not build $N_IMAGES images; see $LOG/r$round-$tool.log"
		if [[ $tool == imgctl-attest && $round == 1 ]]; then
			"$IMGCTL" verify "$dir/imgctl" --registry "$prefix" --latest --key "$PUB" >"$LOG/r$round-$tool-verify.log" 2>&1 ||
				die "round $round $tool: imgctl verify --latest failed; see $LOG/r$round-$tool-verify.log"
			log "round $round: $tool: imgctl verify --latest passed"
		fi
		;;
	bake-*)
		args=(bake --builder bench --progress quiet -f "$dir/bake/docker-bake.hcl" --var "REGISTRY=$prefix")
		if [[ $tool == bake-attest ]]; then
			args+=(--sbom "generator=$SCANNER" --provenance mode=min)
		else
			args+=(--provenance false)
		fi
		measure "$round" "$tool" in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		;;
	esac
	n=$(attestations "$prefix/$LEAF:latest")
	case $tool in
	*-plain) [[ $n == 0 ]] || die "round $round $tool: $LEAF:latest has $n attestation manifests, want none" ;;
	*) [[ $n -ge 1 ]] || die "round $round $tool: $LEAF:latest has no attestation manifest" ;;
	esac
}

for ((r = 1; r <= ROUNDS; r++)); do
	n=${#TOOLS[@]}
	for ((i = 0; i < n; i++)); do
		run_tool "$r" "${TOOLS[(i + r - 1) % n]}"
	done
done

report "$RESULTS" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/attest.md"
cp "$RESULTS" "$OUT/attest.samples"
log "report in $OUT/attest.md, samples in $OUT/attest.samples, logs in $LOG"
