#!/usr/bin/env bash
# bench/publish.sh — imgctl publish against docker buildx bake, side by side.
#
# Publishes the same generated graph of 40 small images (bench/publish/gen:
# 1 root FROM scratch + a busybox rootfs tar, 3 families, 36 teams, 2–3 RUN
# steps each) to the same BuildKit daemon and registry with
#   imgctl    bin/imgctl publish DIR --progress quiet (its default: registry
#             build cache PREFIX/imgctl-cache/NAME:buildcache exported and
#             imported per image)
#   nocache   bin/imgctl publish DIR --progress quiet --no-cache
#   bake      bin/docker-buildx bake --set '*.platform=PLATFORMS' (remote
#             driver on the same buildkitd, an equivalent bake file,
#             push=true)
# with the same attestations on both sides: none (the spec says policy:
# {sbom: false, provenance: false}; bake runs with
# BUILDX_NO_DEFAULT_ATTESTATIONS=1), or with BENCH_ATTEST=1 an SPDX SBOM from
# imgctl's own scanner image and provenance mode=min on every image (imgctl's
# default policy with --sbom-scanner SCANNER; bake --sbom=generator=SCANNER
# --provenance=mode=min), SCANNER pushed once (imgctl scanner push) and named
# by digest, so both run the very same generator. No signing: bake cannot.
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
# With BENCH_PLATFORMS=linux/amd64,linux/arm64 the graph is built for both
# platforms (arm64 through QEMU user emulation on an amd64 machine): the root
# declares both and a busybox rootfs per platform (hack/rootfs.sh
# busybox-arm64), the children inherit them, and every bake target has the
# same platforms (the bake root ADDs busybox-${TARGETARCH}.tar). The script
# then also runs imgctl and bake on the same graph for the first platform
# alone (tools imgctl-amd64 and bake-amd64), in the same rounds, and reports
# what the second platform costs each of them. Every fresh buildkitd must
# list every platform among its workers' (the QEMU binfmt handlers are
# registered before it starts), or the script stops.
#
# Environment:
#   ROUNDS              rounds (default 7, at least 1)
#   BENCH_PLATFORMS     the graph's platforms, comma-separated (default
#                       linux/amd64; linux/amd64,linux/arm64 for two)
#   BENCH_TOOLS         the tools to run, space-separated (default "imgctl
#                       nocache bake", plus "imgctl-ARCH bake-ARCH" for the
#                       first platform alone when there are several; with
#                       several, TOOL-ARCH runs TOOL on the graph for
#                       linux/ARCH alone, for any ARCH of BENCH_PLATFORMS,
#                       and nocache-ARCH is also known)
#   BENCH_IMGCTL        the imgctl binary (default bin/imgctl); a copy of it
#                       is run, so a rebuild of bin/imgctl during the
#                       benchmark changes nothing
#   BENCH_PUBLISH_PORT  registry port on 127.0.0.1 (default 5055)
#   BENCH_PUBLISH_DIR   work directory (default: a new /tmp/imgctl-bench-publish.*);
#                       results.tsv, the logs and the generated graph stay there
#   BENCH_DATE          imgctl --date (default today, UTC)
#   BENCH_OUT           where the report (publish.md) and the samples
#                       (publish.samples) are copied (default _output/bench);
#                       for several platforms publish-amd64-arm64.md and
#                       publish-amd64-arm64.samples
#   BENCH_ATTEST        1: SBOM + provenance on both sides (see above); the
#                       report is then publish-attest*.md (default 0: none)
#   BENCH_SETTLE        1 (default): start every run with buildkitd idle; 0: run
#                       back to back, so BuildKit's deferred work for one run
#                       lands in the next (for comparison only)
#
# Needs root (buildkitd), bin/imgctl, bin/buildkitd, bin/buildctl (make deps
# build), with BENCH_ATTEST=1 bin/scanner (make scanner); builds
# bin/docker-buildx from bench/publish/tools when missing or built from
# another version. `make bench-publish` runs it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"

ROUNDS=${ROUNDS:-7}
PLATFORMS=${BENCH_PLATFORMS:-linux/amd64}
PORT=${BENCH_PUBLISH_PORT:-5055}
DATE=${BENCH_DATE:-$(date -u +%F)}
SETTLE=${BENCH_SETTLE:-1}
ATTEST=${BENCH_ATTEST:-0}
[[ $ATTEST == 0 || $ATTEST == 1 ]] || die "BENCH_ATTEST must be 0 or 1, got $ATTEST"
OUT=${BENCH_OUT:-$REPO_ROOT/_output/bench}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, got $ROUNDS"

BIN=$REPO_ROOT/bin
IMGCTL_SRC=$(abspath "${BENCH_IMGCTL:-$BIN/imgctl}")
BUILDX=$BIN/docker-buildx
TOOLS_DIR=$REPO_ROOT/bench/publish/tools

for b in buildkitd buildctl; do
	[[ -x $BIN/$b ]] || die "$BIN/$b missing; run make deps build"
done
[[ -x $IMGCTL_SRC ]] || die "$IMGCTL_SRC missing; run make build"
if ((ATTEST)); then
	[[ -d $BIN/scanner ]] || die "$BIN/scanner missing; run make scanner"
fi

# The platforms: PLATS is the list, ARCHS their architectures (the suffixes
# of the single-platform tools), ONE the first (the default baseline's),
# ONE_ARCH its architecture.
IFS=, read -r -a PLATS <<<"$PLATFORMS"
((${#PLATS[@]} > 0)) || die "BENCH_PLATFORMS is empty"
for p in "${PLATS[@]}"; do
	[[ $p =~ ^linux/(amd64|arm64)$ ]] || die "BENCH_PLATFORMS: $p: only linux/amd64 and linux/arm64 are supported (hack/rootfs.sh makes their busybox rootfs)"
done
[[ $(printf '%s\n' "${PLATS[@]}" | sort -u | wc -l) -eq ${#PLATS[@]} ]] || die "BENCH_PLATFORMS names a platform twice: $PLATFORMS"
ONE=${PLATS[0]}
ONE_ARCH=${ONE#linux/}
ARCHS=("${PLATS[@]#linux/}")
MULTI=0 REPORT=publish
if ((${#PLATS[@]} > 1)); then
	MULTI=1
	REPORT=publish-$(printf '%s\n' "${PLATS[@]#linux/}" | paste -sd-)
fi
((ATTEST)) && REPORT=${REPORT/publish/publish-attest}
if [[ -n ${BENCH_TOOLS:-} ]]; then
	read -r -a TOOLS <<<"$BENCH_TOOLS"
elif ((MULTI)); then
	TOOLS=(imgctl nocache bake "imgctl-$ONE_ARCH" "bake-$ONE_ARCH")
else
	TOOLS=(imgctl nocache bake)
fi
for t in "${TOOLS[@]}"; do
	case $t in
	imgctl | nocache | bake) ;;
	imgctl-* | nocache-* | bake-*)
		((MULTI)) || die "BENCH_TOOLS: $t needs more than one platform in BENCH_PLATFORMS"
		[[ " ${ARCHS[*]} " == *" ${t#*-} "* ]] || die "BENCH_TOOLS: $t: ${t#*-} is not an architecture of BENCH_PLATFORMS ($PLATFORMS)"
		;;
	*) die "BENCH_TOOLS: unknown tool $t (imgctl, nocache, bake$( ((MULTI)) && echo "; imgctl-ARCH, nocache-ARCH, bake-ARCH for ARCH in ${ARCHS[*]}"))" ;;
	esac
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
printf 'round\ttool\tscenario\twall_s\tcpu_s\tload1\thost_cpu_s\n' >"$RESULTS"
# A private copy: another `make build` during the benchmark does not change
# what is measured.
IMGCTL=$WORK/imgctl
cp "$IMGCTL_SRC" "$IMGCTL"
# buildx keeps its builder list and state under DOCKER_CONFIG; a private one
# leaves the user's alone. No docker CLI or engine is involved.
export DOCKER_CONFIG=$WORK/docker-config
# Without BENCH_ATTEST neither side attaches an SBOM or provenance (the
# spec's policy says so for imgctl; bake would add provenance by default).
((ATTEST)) || export BUILDX_NO_DEFAULT_ATTESTATIONS=1
unset BUILDKIT_HOST

cleanup() {
	"$REPO_ROOT/hack/buildkitd.sh" stop "$BK_DIR" 2>/dev/null || true
	"$REPO_ROOT/hack/registry.sh" stop "$REG_DIR" "$PORT" 2>/dev/null || true
	# The image data and the rootfs copies are large and useless
	# afterwards; the logs, samples and specs stay.
	rm -rf "$REG_DIR/storage" "$BK_DIR/root"
	find "$WORK" -name 'busybox*.tar' -delete 2>/dev/null || true
}
trap cleanup EXIT

# worker_platforms prints the platforms buildkitd's workers support, one per
# line.
worker_platforms() {
	"$BIN/buildctl" --addr "$BK_ADDR" debug workers \
		--format '{{range .}}{{range .Platforms}}{{.OS}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}{{"\n"}}{{end}}{{end}}'
}

# fresh_buildkitd restarts buildkitd on an empty state directory (same
# socket), so no build cache survives, and checks that it can build every
# platform of the graph (a daemon started before the QEMU binfmt handlers
# lacks linux/arm64).
fresh_buildkitd() {
	local have p
	"$REPO_ROOT/hack/buildkitd.sh" stop "$BK_DIR" 2>>"$LOG/daemons.log"
	rm -rf "$BK_DIR/root"
	"$REPO_ROOT/hack/buildkitd.sh" start "$BK_DIR" 2>>"$LOG/daemons.log"
	have=$(worker_platforms) || die "buildctl debug workers failed on $BK_ADDR"
	for p in "${PLATS[@]}"; do
		grep -qx "$p" <<<"$have" ||
			die "buildkitd lacks $p (it has: ${have//$'\n'/ }); run hack/install-deps.sh binfmt first"
	done
}

# rootfs_for PLATFORM prints the busybox rootfs tar for PLATFORM, making it
# with hack/rootfs.sh when missing (busybox for the host's architecture,
# busybox-ARCH for another).
rootfs_for() {
	local arch=${1#linux/} kind out
	if [[ $arch == "$(dpkg --print-architecture)" ]]; then
		kind=busybox out=$REPO_ROOT/_output/rootfs/busybox.tar
	else
		kind=busybox-$arch out=$REPO_ROOT/_output/rootfs/busybox-$arch.tar
	fi
	"$REPO_ROOT/hack/rootfs.sh" "$kind" "$out" 2>>"$LOG/daemons.log" || die "hack/rootfs.sh $kind failed; see $LOG/daemons.log"
	echo "$out"
}

# set_policy GRAPH turns imgctl's attestations off in GRAPH's spec unless
# BENCH_ATTEST=1 (then the default policy's SBOM and provenance min stay).
set_policy() {
	((ATTEST)) && return 0
	printf '\n// bench/publish.sh: no attestations, as bake without BENCH_ATTEST.\npolicy: {sbom: false, provenance: false}\n' >>"$1/imgctl/library.cue"
}

log "work directory $WORK; platforms $PLATFORMS; tools ${TOOLS[*]}; attestations $( ((ATTEST)) && echo "SBOM + provenance min" || echo none)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
UPTIME0=$(uptime)
gen_args=(-platforms "$PLATFORMS")
for p in "${PLATS[@]}"; do
	tar=$(rootfs_for "$p")
	if ((MULTI)); then gen_args+=(-rootfs "$p=$tar"); else gen_args+=(-rootfs "$tar"); fi
	if ((MULTI)); then
		# The same graph for this platform alone (tools named -ARCH).
		(cd "$REPO_ROOT" && go run ./bench/publish/gen -out "$WORK/graph-${p#linux/}" -platforms "$p" -rootfs "$tar")
		set_policy "$WORK/graph-${p#linux/}"
		"$IMGCTL" validate "$WORK/graph-${p#linux/}/imgctl" >>"$LOG/validate.log"
	fi
done
(cd "$REPO_ROOT" && go run ./bench/publish/gen -out "$WORK/graph" "${gen_args[@]}")
set_policy "$WORK/graph"
IFS=$'\t' read -r LEAF LEAF_FROM LEAF_TO LEAF_PARENT <"$WORK/graph/leaf"
"$IMGCTL" validate "$WORK/graph/imgctl" >>"$LOG/validate.log"

"$REPO_ROOT/hack/registry.sh" start "$REG_DIR" "$PORT" 2>>"$LOG/daemons.log"
fresh_buildkitd
# ATTEST_IMGCTL and ATTEST_BAKE are each tool's attestation flags, ATTEST_FLOOR
# the floor's buildctl options.
ATTEST_IMGCTL=() ATTEST_BAKE=() ATTEST_FLOOR=()
if ((ATTEST)); then
	SCANNER=$("$IMGCTL" scanner push "$WORK/graph/imgctl" --repo "127.0.0.1:$PORT/scan/imgctl-cache" \
		--scanner-dir "$BIN/scanner" --buildkit "$BK_ADDR" 2>>"$LOG/scanner.log" | tail -n 1)
	[[ $SCANNER == *@sha256:* ]] || die "imgctl scanner push printed no digest reference ($SCANNER); see $LOG/scanner.log"
	log "SBOM scanner $SCANNER"
	ATTEST_IMGCTL=(--sbom-scanner "$SCANNER")
	ATTEST_BAKE=(--sbom "generator=$SCANNER" --provenance mode=min)
	ATTEST_FLOOR=(--opt "attest:sbom=generator=$SCANNER" --opt "attest:provenance=mode=min")
fi
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

# host_busy prints the CPU ticks every processor of the machine has spent
# busy so far (user, nice, system, irq, softirq, steal in /proc/stat): less
# the run's own CPU, what others used while it ran.
host_busy() {
	local cpu user nice system _idle _iowait irq softirq steal rest
	read -r cpu user nice system _idle _iowait irq softirq steal rest </proc/stat
	echo $((user + nice + system + irq + softirq + steal))
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
	local round=$1 tool=$2 scenario=$3 t0 t1 c0 c1 h0 h1 secs cpu host out
	shift 3
	out=$LOG/r$round-$tool-$scenario.log
	# The previous measure settled, or buildkitd was just started.
	c0=$(cpu_now)
	h0=$(host_busy)
	t0=$EPOCHREALTIME
	if ! ("$@") >"$out" 2>&1; then
		log "round $round $tool $scenario failed; last lines of $out:"
		tail -n 30 "$out" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	settle
	c1=$(cpu_now)
	h1=$(host_busy)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
	host=$(awk -v a="$h0" -v b="$h1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$scenario" "$secs" "$cpu" "$(cut -d' ' -f1 /proc/loadavg)" "$host" >>"$RESULTS"
	log "round $round: $tool $scenario ${secs}s wall, ${cpu}s CPU (machine: ${host}s busy)"
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

# check_platforms ROUND TOOL REF WANT fails unless REF is an index whose
# image manifests are for exactly the comma-separated platforms WANT (a
# single-platform image may also be a plain manifest). Outside any
# measurement.
check_platforms() {
	local raw got
	raw=$(skopeo inspect --tls-verify=false --raw "docker://$3")
	if [[ $(jq -r '.manifests // empty | length' <<<"$raw") == "" ]]; then
		[[ $4 != *,* ]] || die "round $1 $2: $3 is a single manifest, want an index for $4"
		return 0
	fi
	got=$(jq -r '[.manifests[] | .platform | select(. != null and .os != "unknown") |
		"\(.os)/\(.architecture)"] | sort | join(",")' <<<"$raw")
	[[ $got == "$(tr , '\n' <<<"$4" | sort | paste -sd,)" ]] ||
		die "round $1 $2: $3 is for platforms ${got:-none}, want $4"
}

# check_attest ROUND TOOL REF fails unless the index REF carries attestation
# manifests with BENCH_ATTEST=1, and none without. Outside any measurement.
check_attest() {
	local n
	n=$(skopeo inspect --tls-verify=false --raw "docker://$3" |
		jq '[.manifests // [] | .[] | select(.annotations["vnd.docker.reference.type"] == "attestation-manifest")] | length')
	if ((ATTEST)); then
		((n > 0)) || die "round $1 $2: $3 carries no attestation manifest (BENCH_ATTEST=1)"
	else
		((n == 0)) || die "round $1 $2: $3 carries $n attestation manifests without BENCH_ATTEST"
	fi
}

# run_tool ROUND TOOL runs TOOL's cold, noop and leaf publishes of the graph
# to a prefix of its own, checking each did what it should. After bake's
# runs it measures the floor of the leaf scenario: buildctl building and
# pushing only the changed leaf (changed once more, so not cached), FROM
# its parent's tag, on the same warm daemon. A tool named with an -ARCH
# suffix runs on the graph for linux/ARCH alone (its floor is floor-ARCH).
run_tool() {
	local round=$1 tool=$2 dir prefix before args graph=$WORK/graph plats=$PLATFORMS floor=floor
	if [[ $tool == *-* ]]; then
		graph=$WORK/graph-${tool#*-} plats=linux/${tool#*-} floor=floor-${tool#*-}
	fi
	dir=$WORK/r$round/$tool
	prefix=127.0.0.1:$PORT/r$round-$tool
	mkdir -p "$dir"
	cp -r "$graph/." "$dir/"
	fresh_buildkitd
	case $tool in
	imgctl | nocache | imgctl-* | nocache-*)
		args=(publish "$dir/imgctl" --registry "$prefix" --date "$DATE" --progress quiet "${ATTEST_IMGCTL[@]}")
		[[ $tool == nocache* ]] && args+=(--no-cache)
		measure "$round" "$tool" cold "$IMGCTL" "${args[@]}" --buildkit "$BK_ADDR"
		check_platforms "$round" "$tool" "$prefix/$LEAF:latest" "$plats"
		before=$(digest_of "$prefix/$LEAF:latest")
		measure "$round" "$tool" noop "$IMGCTL" "${args[@]}" --buildkit "$NO_BK_ADDR"
		grep -q "Nothing to do" "$LOG/r$round-$tool-noop.log" ||
			die "round $round $tool noop did something; see $LOG/r$round-$tool-noop.log"
		sed -i "s/$LEAF step 0 $LEAF_FROM/$LEAF step 0 $LEAF_TO/" "$dir/imgctl/library.cue"
		measure "$round" "$tool" leaf "$IMGCTL" "${args[@]}" --buildkit "$BK_ADDR"
		grep -q "^1 images built" "$LOG/r$round-$tool-leaf.log" ||
			die "round $round $tool leaf did not build exactly one image; see $LOG/r$round-$tool-leaf.log"
		check_changed "$round" "$tool" "$prefix" "$before"
		check_attest "$round" "$tool" "$prefix/$LEAF:latest"
		;;
	bake | bake-*)
		# The bake file names the same platforms; --set says so on the
		# command line too, as one would for a multi-platform build.
		args=(bake --builder bench --progress quiet -f "$dir/bake/docker-bake.hcl" --var "REGISTRY=$prefix"
			--set "*.platform=$plats" "${ATTEST_BAKE[@]}")
		measure "$round" "$tool" cold in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		check_platforms "$round" "$tool" "$prefix/$LEAF:latest" "$plats"
		before=$(digest_of "$prefix/$LEAF:latest")
		measure "$round" "$tool" noop in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		sed -i "s/$LEAF step 0 $LEAF_FROM/$LEAF step 0 $LEAF_TO/" "$dir/bake/$LEAF/Dockerfile"
		measure "$round" "$tool" leaf in_dir "$dir/bake" "$BUILDX" "${args[@]}"
		check_changed "$round" "$tool" "$prefix" "$before"
		check_attest "$round" "$tool" "$prefix/$LEAF:latest"
		sed -i "s/$LEAF step 0 $LEAF_TO/$LEAF step 0 floor/" "$dir/bake/$LEAF/Dockerfile"
		measure "$round" "$floor" leaf "$BIN/buildctl" --addr "$BK_ADDR" build --progress plain \
			--frontend dockerfile.v0 --opt "platform=$plats" \
			--local "context=$dir/bake/$LEAF" --local "dockerfile=$dir/bake/$LEAF" \
			--opt "context:parent=docker-image://$prefix/$LEAF_PARENT:latest" "${ATTEST_FLOOR[@]}" \
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
# are about wall time) and of CPU time; with several platforms also what the
# extra platforms cost each tool against the first platform alone, and each
# platform alone that was run.
awk -F'\t' -v rounds="$ROUNDS" -v load0="$LOAD0" -v load1="$(cut -d' ' -f1-3 /proc/loadavg)" \
	-v uptime0="$UPTIME0" -v uptime1="$(uptime)" -v plats="$PLATFORMS" -v one="$ONE_ARCH" -v archs="${ARCHS[*]}" -v multi="$MULTI" -v attest="$ATTEST" '
function median(a, key,   n, i, j, t, v) {
	n = cnt[key]
	if (n == 0) return -1
	for (i = 1; i <= n; i++) v[i] = a[key, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function num(v) { return (v < 0) ? "–" : sprintf("%.2f", v) }
# ratio prints a / b, "–" when either is missing.
function ratio(a, b) {
	if (a < 0 || b < 0) return "–"
	return (b > 0) ? sprintf("%.1f×", a / b) : "∞ (0 ticks)"
}
# ratio2 is ratio with two decimals (for costs near 1×).
function ratio2(a, b) {
	if (a < 0 || b < 0) return "–"
	return (b > 0) ? sprintf("%.2f×", a / b) : "∞ (0 ticks)"
}
NR == 1 { next }
{
	key = $2 SUBSEP $3; n = ++cnt[key]; wall[key, n] = $4; cpu[key, n] = $5; runs[key] = runs[key] sprintf(" %6.2f", $4)
	others[key] = others[key] ((NF >= 7) ? sprintf(" %6.2f", $7 - $5) : "      –")
}
END {
	split("cold noop leaf", sc, " ")
	nt = split("imgctl nocache bake", tl, " ")
	na = split(archs, ar, " ")
	if (multi) for (a = 1; a <= na; a++) { tl[++nt] = "imgctl-" ar[a]; tl[++nt] = "nocache-" ar[a]; tl[++nt] = "bake-" ar[a] }
	# The targets of issue 25, with and without attestations.
	target["cold"] = 1.1; target["noop"] = 100; target["leaf"] = 10
	printf "Attestations: %s\n", attest ? "SBOM (imgctl'"'"'s scanner as the generator) + provenance mode=min on both sides" : "none on either side"
	printf "Platforms: %s%s\n\n", plats, multi ? " (tools named -ARCH: the same graph for linux/ARCH alone)" : ""
	printf "Wall time of every run (seconds, rounds in order):\n"
	for (s = 1; s <= 3; s++) for (t = 1; t <= nt; t++)
		if (cnt[tl[t], sc[s]]) printf "  %-5s %-14s%s\n", sc[s], tl[t], runs[tl[t], sc[s]]
	if (cnt["floor", "leaf"]) printf "  %-5s %-14s%s\n", "leaf", "floor", runs["floor", "leaf"]
	for (a = 1; multi && a <= na; a++)
		if (cnt["floor-" ar[a], "leaf"]) printf "  %-5s %-14s%s\n", "leaf", "floor-" ar[a], runs["floor-" ar[a], "leaf"]
	printf "\nCPU used by others during each cold run and its settling (seconds: busy time of\nall processors minus the CPU of the run itself; 0 on an otherwise idle machine):\n"
	for (t = 1; t <= nt; t++)
		if (cnt[tl[t], "cold"]) printf "  %-5s %-14s%s\n", "cold", tl[t], others[tl[t], "cold"]
	printf "\nLoad average (1, 5, 15 min) before: %s, after: %s\n", load0, load1
	printf "uptime before: %s\nuptime after:  %s\n", uptime0, uptime1
	printf "\nWall time, medians of %d interleaved rounds (seconds), platforms %s:\n\n", rounds, plats
	printf "| scenario | bake | imgctl | imgctl --no-cache | bake/imgctl | bake/imgctl --no-cache | target | met |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|---|\n"
	for (s = 1; s <= 3; s++) {
		b = median(wall, "bake" SUBSEP sc[s]); i = median(wall, "imgctl" SUBSEP sc[s]); n = median(wall, "nocache" SUBSEP sc[s])
		met = (b < 0 || i < 0) ? "–" : (b / i >= target[sc[s]]) ? "yes" : "no"
		printf "| %s | %s | %s | %s | %s | %s | ≥ %g× | %s |\n", sc[s], num(b), num(i), num(n), ratio(b, i), ratio(b, n), target[sc[s]], met
	}
	f = median(wall, "floor" SUBSEP "leaf"); b = median(wall, "bake" SUBSEP "leaf")
	if (f >= 0) {
		printf "\nFloor of leaf: buildctl building and pushing only the changed image: %.2f s,\n", f
		printf "bake/floor %s: the most any tool that builds the changed image here can reach.\n", ratio(b, f)
	}
	printf "\nCPU time (client + buildkitd with its runc/RUN processes + registry), medians (seconds):\n\n"
	printf "| scenario | bake | imgctl | imgctl --no-cache | bake/imgctl | bake/imgctl --no-cache |\n"
	printf "|---|---:|---:|---:|---:|---:|\n"
	for (s = 1; s <= 3; s++) {
		b = median(cpu, "bake" SUBSEP sc[s]); i = median(cpu, "imgctl" SUBSEP sc[s]); n = median(cpu, "nocache" SUBSEP sc[s])
		printf "| %s | %s | %s | %s | %s | %s |\n", sc[s], num(b), num(i), num(n), ratio(b, i), ratio(b, n)
	}
	if (!multi) exit
	pl = plats; gsub(/linux\//, "", pl); gsub(/,/, "+", pl)
	for (m = 1; m <= 2; m++) {
		if (m == 1) printf "\n%s against linux/%s alone, wall time medians (seconds):\n\n", plats, one
		else printf "\n%s against linux/%s alone, CPU time medians (seconds):\n\n", plats, one
		printf "| scenario | imgctl %s | imgctl %s | imgctl %s / %s | imgctl --no-cache %s | imgctl --no-cache %s | bake %s | bake %s | bake %s / %s | bake/imgctl %s | bake/imgctl %s | bake/imgctl --no-cache %s |\n", one, pl, pl, one, one, pl, one, pl, pl, one, one, pl, pl
		printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
		for (s = 1; s <= 3; s++) {
			if (m == 1) {
				i1 = median(wall, "imgctl-" one SUBSEP sc[s]); i2 = median(wall, "imgctl" SUBSEP sc[s])
				n1 = median(wall, "nocache-" one SUBSEP sc[s]); n2 = median(wall, "nocache" SUBSEP sc[s])
				b1 = median(wall, "bake-" one SUBSEP sc[s]); b2 = median(wall, "bake" SUBSEP sc[s])
			} else {
				i1 = median(cpu, "imgctl-" one SUBSEP sc[s]); i2 = median(cpu, "imgctl" SUBSEP sc[s])
				n1 = median(cpu, "nocache-" one SUBSEP sc[s]); n2 = median(cpu, "nocache" SUBSEP sc[s])
				b1 = median(cpu, "bake-" one SUBSEP sc[s]); b2 = median(cpu, "bake" SUBSEP sc[s])
			}
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc[s], num(i1), num(i2), ratio2(i2, i1), num(n1), num(n2), num(b1), num(b2), ratio2(b2, b1), ratio2(b1, i1), ratio2(b2, i2), ratio2(b2, n2)
		}
	}
	f1 = median(wall, "floor-" one SUBSEP "leaf"); f2 = median(wall, "floor" SUBSEP "leaf")
	if (f1 >= 0) printf "\nFloor of leaf for linux/%s alone: %.2f s (bake-%s/floor %s); for %s: %s s.\n", one, f1, one, ratio(median(wall, "bake-" one SUBSEP "leaf"), f1), plats, num(f2)
	# Each platform alone, side by side.
	printf "\nEach platform alone (the same graph for one platform), medians (seconds):\n\n"
	printf "| scenario | platform | imgctl wall | bake wall | bake/imgctl wall | imgctl CPU | bake CPU | bake/imgctl CPU |\n"
	printf "|---|---|---:|---:|---:|---:|---:|---:|\n"
	for (s = 1; s <= 3; s++) for (a = 1; a <= na; a++) {
		i1 = median(wall, "imgctl-" ar[a] SUBSEP sc[s]); b1 = median(wall, "bake-" ar[a] SUBSEP sc[s])
		i2 = median(cpu, "imgctl-" ar[a] SUBSEP sc[s]); b2 = median(cpu, "bake-" ar[a] SUBSEP sc[s])
		if (i1 >= 0 || b1 >= 0) printf "| %s | linux/%s | %s | %s | %s | %s | %s | %s |\n", sc[s], ar[a], num(i1), num(b1), ratio2(b1, i1), num(i2), num(b2), ratio2(b2, i2)
	}
}
' "$RESULTS" | tee "$OUT/$REPORT.md"
cp "$RESULTS" "$OUT/$REPORT.samples"
log "report in $OUT/$REPORT.md, samples in $OUT/$REPORT.samples, logs in $LOG"
