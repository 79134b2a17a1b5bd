#!/usr/bin/env bash
# bench/publish.sh — imgctl publish against docker buildx bake, side by side.
#
# Publishes the same generated graph of 40 small images (bench/publish/gen:
# 1 root FROM scratch + a busybox rootfs tar, 3 families, 36 teams, 2–3 RUN
# steps each) to the same BuildKit daemon and registry with
#   imgctl    bin/imgctl publish DIR --progress quiet (its default: registry
#             build cache REPO:buildcache exported and imported per image)
#   nocache   bin/imgctl publish DIR --progress quiet --no-cache
#   bake      bin/docker-buildx bake (remote driver on the same buildkitd,
#             an equivalent bake file, push=true, no attestations)
# in three scenarios:
#   cold      a new buildkitd state directory and a new registry prefix
#   noop      the same again, nothing changed
#   leaf      one team's first RUN step edited (in the spec and the Dockerfile)
# ROUNDS times, interleaved: every round runs each tool's cold/noop/leaf
# sequence, the tools' order rotating from round to round, and every tool's
# sequence starts from a fresh daemon. Each run starts with buildkitd idle
# (see settle). It prints every measurement, the medians, and the ratios
# bake/imgctl of wall time (against the targets) and of CPU time (client +
# buildkitd + registry, less sensitive to other load on the machine).
#
# imgctl's noop runs are given a BuildKit address where nothing listens: they
# pass only if publish never contacts BuildKit when nothing changed.
#
# Environment:
#   ROUNDS              rounds (default 7, at least 1)
#   BENCH_PUBLISH_PORT  registry port on 127.0.0.1 (default 5055)
#   BENCH_PUBLISH_DIR   work directory (default: a new /tmp/imgctl-bench-publish.*);
#                       results.tsv, the logs and the generated graph stay there
#   BENCH_DATE          imgctl --date (default today, UTC)
#   BENCH_OUT           where the report (publish.md) and the samples
#                       (publish.samples) are copied (default _output/bench)
#   BENCH_SETTLE        1 (default): start every run with buildkitd idle; 0: run
#                       back to back, so BuildKit's deferred work for one run
#                       lands in the next (for comparison only)
#
# Needs root (buildkitd), bin/imgctl, bin/buildkitd, bin/buildctl (make deps
# build); builds bin/docker-buildx from bench/publish/tools when missing or
# built from another version. `make bench-publish` runs it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"

ROUNDS=${ROUNDS:-7}
PORT=${BENCH_PUBLISH_PORT:-5055}
DATE=${BENCH_DATE:-$(date -u +%F)}
SETTLE=${BENCH_SETTLE:-1}
OUT=${BENCH_OUT:-$REPO_ROOT/_output/bench}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, got $ROUNDS"

BIN=$REPO_ROOT/bin
IMGCTL=$BIN/imgctl
BUILDX=$BIN/docker-buildx
TOOLS_DIR=$REPO_ROOT/bench/publish/tools
TOOLS=(imgctl nocache bake)

for b in imgctl buildkitd buildctl; do
	[[ -x $BIN/$b ]] || die "$BIN/$b missing; run make deps build"
done

# install_buildx builds bin/docker-buildx at the version bench/publish/tools
# pins, unless it is already that version.
install_buildx() {
	local want have
	want=$(awk '$1 == "github.com/docker/buildx" || ($1 == "require" && $2 == "github.com/docker/buildx") {
		for (i = 1; i <= NF; i++) if ($i ~ /^v[0-9]/) { print $i; exit } }' "$TOOLS_DIR/go.mod")
	[[ -n $want ]] || die "$TOOLS_DIR/go.mod does not require github.com/docker/buildx"
	have=
	if [[ -x $BUILDX ]]; then
		have=$(go version -m "$BUILDX" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/docker/buildx" { print $3; exit }')
	fi
	if [[ $have == "$want" ]]; then
		log "bin/docker-buildx is github.com/docker/buildx@$want"
		return 0
	fi
	log "building bin/docker-buildx from github.com/docker/buildx@$want (had: ${have:-none}); takes about 2 minutes cold"
	(cd "$TOOLS_DIR" && go build -mod=readonly -trimpath \
		-ldflags "-s -w -X github.com/docker/buildx/version.Version=$want" \
		-o "$BIN/.docker-buildx.tmp" github.com/docker/buildx/cmd/buildx)
	mv -f "$BIN/.docker-buildx.tmp" "$BUILDX"
}
install_buildx

WORK=${BENCH_PUBLISH_DIR:-$(mktemp -d /tmp/imgctl-bench-publish.XXXXXX)}
WORK=$(abspath "$WORK")
mkdir -p "$WORK"
[[ -z $(ls -A "$WORK") ]] || die "$WORK is not empty"
REG_DIR=$WORK/registry
BK_DIR=$WORK/buildkitd
BK_ADDR=unix://$BK_DIR/buildkitd.sock
NO_BK_ADDR=unix://$WORK/no-buildkitd-here.sock
LOG=$WORK/log
RESULTS=$WORK/results.tsv
mkdir -p "$LOG" "$OUT"
printf 'round\ttool\tscenario\twall_s\tcpu_s\tload1\n' >"$RESULTS"
# buildx keeps its builder list and state under DOCKER_CONFIG; a private one
# leaves the user's alone. No docker CLI or engine is involved.
export DOCKER_CONFIG=$WORK/docker-config
# The image imgctl builds carries no provenance or SBOM; make bake's equal.
export BUILDX_NO_DEFAULT_ATTESTATIONS=1
unset BUILDKIT_HOST

cleanup() {
	"$REPO_ROOT/hack/buildkitd.sh" stop "$BK_DIR" 2>/dev/null || true
	"$REPO_ROOT/hack/registry.sh" stop "$REG_DIR" "$PORT" 2>/dev/null || true
	# The image data and the rootfs copies are large and useless
	# afterwards; the logs, samples and specs stay.
	rm -rf "$REG_DIR/storage" "$BK_DIR/root"
	find "$WORK" -name busybox.tar -delete 2>/dev/null || true
}
trap cleanup EXIT

# fresh_buildkitd restarts buildkitd on an empty state directory (same
# socket), so no build cache survives.
fresh_buildkitd() {
	"$REPO_ROOT/hack/buildkitd.sh" stop "$BK_DIR" 2>>"$LOG/daemons.log"
	rm -rf "$BK_DIR/root"
	"$REPO_ROOT/hack/buildkitd.sh" start "$BK_DIR" 2>>"$LOG/daemons.log"
}

log "work directory $WORK"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
"$REPO_ROOT/hack/rootfs.sh" busybox "$REPO_ROOT/_output/rootfs/busybox.tar" 2>>"$LOG/daemons.log"
(cd "$REPO_ROOT" && go run ./bench/publish/gen -out "$WORK/graph" -rootfs "$REPO_ROOT/_output/rootfs/busybox.tar")
IFS=$'\t' read -r LEAF LEAF_FROM LEAF_TO LEAF_PARENT <"$WORK/graph/leaf"
"$IMGCTL" validate "$WORK/graph/imgctl" >>"$LOG/validate.log"

"$REPO_ROOT/hack/registry.sh" start "$REG_DIR" "$PORT" 2>>"$LOG/daemons.log"
fresh_buildkitd
"$BUILDX" create --name bench --driver remote "$BK_ADDR" >>"$LOG/daemons.log" 2>&1
"$BUILDX" inspect --bootstrap --builder bench >>"$LOG/daemons.log" 2>&1

# in_dir DIR CMD... runs CMD in DIR (bake resolves contexts from the
# working directory).
in_dir() { local d=$1; shift; cd "$d" && "$@"; }

# ticks PID FIELDS prints the sum of the given /proc/PID/stat fields (clock
# ticks): 14-17 are a process's own and its reaped children's user and
# system time, 16-17 the reaped children's only.
ticks() {
	local f
	read -r -a f <"/proc/$1/stat"
	shift
	local sum=0 i
	for i in "$@"; do sum=$((sum + f[i - 1])); done
	echo "$sum"
}
HZ=$(getconf CLK_TCK)

# cpu_now prints the CPU ticks used so far by buildkitd (with the runc and
# RUN processes it reaped), the registry and this script's reaped children
# (the client being measured).
cpu_now() {
	echo $(($(ticks "$(<"$BK_DIR/buildkitd.pid")" 14 15 16 17) + \
		$(ticks "$(<"$REG_DIR/registry.pid")" 14 15 16 17) + $(ticks $$ 16 17)))
}

# settle waits until buildkitd has been idle (under 20 ms of CPU per 0.5 s)
# for 4 s in a row, at most 60 s. BuildKit writes each solve's trace into
# its build history 3 s after the solve ends (solver/llbsolver/history.go);
# for a 40-target bake that is seconds of CPU, which would otherwise land
# in whatever is measured next.
settle() {
	local pid quiet=0 i prev cur
	[[ $SETTLE == 1 ]] || return 0
	pid=$(<"$BK_DIR/buildkitd.pid")
	prev=$(ticks "$pid" 14 15 16 17)
	for ((i = 0; i < 120 && quiet < 8; i++)); do
		sleep 0.5
		cur=$(ticks "$pid" 14 15 16 17)
		if (((cur - prev) * 1000 / HZ < 20)); then quiet=$((quiet + 1)); else quiet=0; fi
		prev=$cur
	done
}

# measure ROUND TOOL SCENARIO CMD... runs CMD with its output in a log file
# and appends to results.tsv its wall time and the CPU time it cost: the
# client's, the registry's and buildkitd's (with its runc and RUN
# processes) until buildkitd has settled afterwards, so the daemon's
# deferred work is charged to the run that caused it.
measure() {
	local round=$1 tool=$2 scenario=$3 t0 t1 c0 c1 secs cpu out
	shift 3
	out=$LOG/r$round-$tool-$scenario.log
	# The previous measure settled, or buildkitd was just started.
	c0=$(cpu_now)
	t0=$EPOCHREALTIME
	if ! ("$@") >"$out" 2>&1; then
		log "round $round $tool $scenario failed; last lines of $out:"
		tail -n 30 "$out" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	settle
	c1=$(cpu_now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$scenario" "$secs" "$cpu" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
	log "round $round: $tool $scenario ${secs}s wall, ${cpu}s CPU"
}

# digest_of REF prints the manifest digest REF points at (skopeo, outside
# any measurement).
digest_of() {
	skopeo inspect --tls-verify=false --raw "docker://$1" | sha256sum | awk '{print "sha256:" $1}'
}

# check_changed ROUND TOOL PREFIX BEFORE fails unless the leaf's latest tag
# moved away from digest BEFORE.
check_changed() {
	[[ $(digest_of "$3/$LEAF:latest") != "$4" ]] ||
		die "round $1 $2: $LEAF:latest did not change after the leaf edit"
}

# run_tool ROUND TOOL runs TOOL's cold, noop and leaf publishes of the graph
# to a prefix of its own, checking each did what it should. After bake's
# runs it measures the floor of the leaf scenario: buildctl building and
# pushing only the changed leaf (changed once more, so not cached), FROM
# its parent's tag, on the same warm daemon.
run_tool() {
	local round=$1 tool=$2 dir prefix before args
	dir=$WORK/r$round/$tool
	prefix=127.0.0.1:$PORT/r$round-$tool
	mkdir -p "$dir"
	cp -r "$WORK/graph/." "$dir/"
	fresh_buildkitd
	case $tool in
	imgctl | nocache)
		args=(publish "$dir/imgctl" --registry "$prefix" --date "$DATE" --progress quiet)
		[[ $tool == nocache ]] && args+=(--no-cache)
		measure "$round" "$tool" cold "$IMGCTL" "${args[@]}" --buildkit "$BK_ADDR"
		before=$(digest_of "$prefix/$LEAF:latest")
		measure "$round" "$tool" noop "$IMGCTL" "${args[@]}" --buildkit "$NO_BK_ADDR"
		grep -q "Nothing to do" "$LOG/r$round-$tool-noop.log" ||
			die "round $round $tool noop did something; see $LOG/r$round-$tool-noop.log"
		sed -i "s/$LEAF step 0 $LEAF_FROM/$LEAF step 0 $LEAF_TO/" "$dir/imgctl/library.cue"
		measure "$round" "$tool" leaf "$IMGCTL" "${args[@]}" --buildkit "$BK_ADDR"
		grep -q "^1 images built" "$LOG/r$round-$tool-leaf.log" ||
			die "round $round $tool leaf did not build exactly one image; see $LOG/r$round-$tool-leaf.log"
		check_changed "$round" "$tool" "$prefix" "$before"
		;;
	bake)
		args=(bake --builder bench --progress quiet -f "$dir/bake/docker-bake.hcl" --var "REGISTRY=$prefix")
		measure "$round" "$tool" cold in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		before=$(digest_of "$prefix/$LEAF:latest")
		measure "$round" "$tool" noop in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		sed -i "s/$LEAF step 0 $LEAF_FROM/$LEAF step 0 $LEAF_TO/" "$dir/bake/$LEAF/Dockerfile"
		measure "$round" "$tool" leaf in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		check_changed "$round" "$tool" "$prefix" "$before"
		sed -i "s/$LEAF step 0 $LEAF_TO/$LEAF step 0 floor/" "$dir/bake/$LEAF/Dockerfile"
		measure "$round" floor leaf "$BIN/buildctl" --addr "$BK_ADDR" build --progress plain \
			--frontend dockerfile.v0 --local "context=$dir/bake/$LEAF" --local "dockerfile=$dir/bake/$LEAF" \
			--opt "context:parent=docker-image://$prefix/$LEAF_PARENT:latest" \
			--output "type=image,name=$prefix/$LEAF:floor,push=true,registry.insecure=true"
		;;
	esac
}

for ((r = 1; r <= ROUNDS; r++)); do
	n=${#TOOLS[@]}
	for ((i = 0; i < n; i++)); do
		run_tool "$r" "${TOOLS[(i + r - 1) % n]}"
	done
done

# The report: every run, then medians and ratios of wall time (the targets
# are about wall time) and of CPU time.
awk -F'\t' -v rounds="$ROUNDS" -v load0="$LOAD0" -v load1="$(cut -d' ' -f1-3 /proc/loadavg)" '
function median(a, key,   n, i, j, t, v) {
	n = cnt[key]
	for (i = 1; i <= n; i++) v[i] = a[key, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
NR == 1 { next }
{ key = $2 SUBSEP $3; n = ++cnt[key]; wall[key, n] = $4; cpu[key, n] = $5; runs[key] = runs[key] sprintf(" %6.2f", $4) }
END {
	split("cold noop leaf", sc, " ")
	split("imgctl nocache bake", tl, " ")
	target["cold"] = 1; target["noop"] = 30; target["leaf"] = 7
	printf "Wall time of every run (seconds, rounds in order):\n"
	for (s = 1; s <= 3; s++) for (t = 1; t <= 3; t++)
		printf "  %-5s %-8s%s\n", sc[s], tl[t], runs[tl[t], sc[s]]
	printf "  %-5s %-8s%s\n", "leaf", "floor", runs["floor", "leaf"]
	printf "\nLoad average (1, 5, 15 min) before: %s, after: %s\n", load0, load1
	printf "\nWall time, medians of %d interleaved rounds (seconds):\n\n", rounds
	printf "| scenario | bake | imgctl | imgctl --no-cache | bake/imgctl | bake/imgctl --no-cache | target | met |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|---|\n"
	for (s = 1; s <= 3; s++) {
		b = median(wall, "bake" SUBSEP sc[s]); i = median(wall, "imgctl" SUBSEP sc[s]); n = median(wall, "nocache" SUBSEP sc[s])
		printf "| %s | %.2f | %.2f | %.2f | %.1f× | %.1f× | ≥ %d× | %s |\n", sc[s], b, i, n, b / i, b / n, target[sc[s]], (b / i >= target[sc[s]]) ? "yes" : "no"
	}
	f = median(wall, "floor" SUBSEP "leaf"); b = median(wall, "bake" SUBSEP "leaf")
	printf "\nFloor of leaf: buildctl building and pushing only the changed image: %.2f s,\n", f
	printf "bake/floor %.1f×: the most any tool that builds the changed image here can reach.\n", b / f
	printf "\nCPU time (client + buildkitd with its runc/RUN processes + registry), medians (seconds):\n\n"
	printf "| scenario | bake | imgctl | imgctl --no-cache | bake/imgctl | bake/imgctl --no-cache |\n"
	printf "|---|---:|---:|---:|---:|---:|\n"
	for (s = 1; s <= 3; s++) {
		b = median(cpu, "bake" SUBSEP sc[s]); i = median(cpu, "imgctl" SUBSEP sc[s]); n = median(cpu, "nocache" SUBSEP sc[s])
		printf "| %s | %.2f | %.2f | %.2f | %s | %s |\n", sc[s], b, i, n, ratio(b, i), ratio(b, n)
	}
}
function ratio(a, b) { return (b > 0) ? sprintf("%.1f×", a / b) : "∞ (0 ticks)" }
' "$RESULTS" | tee "$OUT/publish.md"
cp "$RESULTS" "$OUT/publish.samples"
log "report in $OUT/publish.md, samples in $OUT/publish.samples, logs in $LOG"
