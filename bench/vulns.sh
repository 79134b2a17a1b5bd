#!/usr/bin/env bash
# bench/vulns.sh — `imgctl vulns --all-versions` over a library of 200
# published versions, against the osv-scanner CLI run once per SBOM on the
# same SBOMs and feed, and against imgctl's own registry reads alone.
#
# bench/cmd/vulnseed pushes BENCH_IMAGES × BENCH_VERSIONS (default 20 × 10)
# dated versions to Debian's distribution registry on 127.0.0.1:PORT
# (hack/registry.sh), each an index of linux/amd64 (and linux/arm64 for every
# other image) with an SPDX SBOM attestation per platform of ~300 Debian 12
# and PyPI packages, 300 SBOMs in all; it writes the spec library naming the
# images, every SBOM as a file, a feed of 5,000 Debian:12 and 500 PyPI OSV
# records, and a feed of one record that matches nothing. Then, RUNS rounds
# (default 3) after one unmeasured warm-up of each, the commands' order
# rotating from round to round:
#   imgctl       bin/imgctl vulns LIB --all-versions --vulndb FEED --json
#   osv-scanner  bin/osv-scanner scan source --offline --local-db-path FEED
#                --format json -L FILE, once per SBOM file (a shell loop over
#                the 300 files), v2.5.0 built from the Go module proxy
#   reads        bin/imgctl vulns LIB --all-versions --vulndb EMPTYFEED
#                --json: the same registry reads and SBOM parsing, with a feed
#                that matches nothing (the matching costs ~0)
# Both feeds are osv-scanner's offline layout (DIR/osv-scalibr/<Ecosystem>/
# all.zip), which imgctl's --vulndb reads too: both tools read the same
# files. Output goes to /dev/null.
#
# Checks, outside the measurements: imgctl reports every one of the 200
# versions, and nothing with the empty feed; for one SBOM (the newest
# version of the first image, linux/amd64) osv-scanner's findings are
# counted against imgctl's for that version and platform (the ids only one
# of them reports are in WORK/compare.txt), and must be exactly imgctl's
# findings on the packages named and versioned as their source package
# (osv-scanner matches an SPDX deb package by its binary name and version
# only, so it misses every record reached through the upstream qualifier).
#
# Wall time is measured around each process (EPOCHREALTIME), CPU (user +
# sys, children included) and peak RSS come from /usr/bin/time. Prints every
# sample, the load average before and after, and a Markdown table of medians
# with the ratios imgctl/osv-scanner and imgctl/reads, medians of the
# per-round ratios (goals: imgctl ≥ 10× faster than osv-scanner per SBOM,
# imgctl ≤ 1.5× its registry reads). It reports; it fails only when a
# command fails or a check does not hold.
#
# Environment:
#   RUNS              measured rounds (default 3, at least 1)
#   BENCH_IMAGES      images (default 20)
#   BENCH_VERSIONS    dated versions per image (default 10)
#   BENCH_VULNS_PORT  registry port on 127.0.0.1 (default 5057)
#   BENCH_VULNS_DIR   work directory (default a new /tmp/imgctl-bench-vulns.*);
#                     samples, logs, SBOMs and feeds stay there
#   BENCH_OUT         where vulns.md and vulns.samples are copied
#                     (default _output/bench)
#   OSV_SCANNER       the osv-scanner binary (default bin/osv-scanner, built
#                     with go install …/osv-scanner@v2.5.0 when missing)
#
# Needs go, docker-registry (hack/install-deps.sh) and /usr/bin/time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"

RUNS=${RUNS:-3}
IMAGES=${BENCH_IMAGES:-20}
VERSIONS=${BENCH_VERSIONS:-10}
PORT=${BENCH_VULNS_PORT:-5057}
OUT=${BENCH_OUT:-$REPO_ROOT/_output/bench}
OSV_VERSION=v2.5.0
OSV=${OSV_SCANNER:-$REPO_ROOT/bin/osv-scanner}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got $RUNS"
[[ $IMAGES =~ ^[1-9][0-9]*$ && $VERSIONS =~ ^[1-9][0-9]*$ ]] || die "BENCH_IMAGES and BENCH_VERSIONS must be positive numbers"
command -v docker-registry >/dev/null || die "docker-registry not found; run hack/install-deps.sh"
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing; apt-get install time"

WORK=$(abspath "${BENCH_VULNS_DIR:-$(mktemp -d /tmp/imgctl-bench-vulns.XXXXXX)}")
mkdir -p "$WORK"
[[ -z $(ls -A "$WORK") ]] || die "$WORK is not empty"
LOG=$WORK/log
SAMPLES=$WORK/samples.tsv
mkdir -p "$LOG" "$OUT"

cleanup() {
	"$REPO_ROOT/hack/registry.sh" stop "$WORK/registry" "$PORT" 2>>"$LOG/registry.log" || true
	rm -rf "$WORK/registry/storage"
}
trap cleanup EXIT

log "building bin/imgctl and vulnseed"
(cd "$REPO_ROOT" && go build -o bin/imgctl ./cmd/imgctl && go build -o "$WORK/vulnseed" ./bench/cmd/vulnseed)
IMGCTL=$WORK/imgctl # a private copy: a rebuild during the benchmark changes nothing
cp "$REPO_ROOT/bin/imgctl" "$IMGCTL"
if [[ ! -x $OSV ]]; then
	log "building osv-scanner $OSV_VERSION from the Go module proxy into $(dirname "$OSV")"
	mkdir -p "$WORK/osv-build"
	(cd "$WORK/osv-build" && GOFLAGS=-mod=mod GOBIN=$(dirname "$OSV") go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_VERSION")
fi
# Read whole, then matched: "| grep -q" can fail under pipefail.
osv_version=$("$OSV" --version 2>&1)
[[ $osv_version == *"osv-scanner version: ${OSV_VERSION#v}"* ]] ||
	die "$OSV is not osv-scanner $OSV_VERSION: ${osv_version%%$'\n'*}"

"$REPO_ROOT/hack/registry.sh" start "$WORK/registry" "$PORT" 2>>"$LOG/registry.log"
LIB=$WORK/lib SBOMS=$WORK/sboms FEED=$WORK/feed EMPTY=$WORK/empty
# distro=debian-12, not syft's debian-12.15: osv-scanner v2.5.0 reads the
# latter as ecosystem Debian:12.15 and matches no Debian:12 record at all
# (bench/cmd/vulnseed); imgctl reads both as Debian:12.
"$WORK/vulnseed" -registry "127.0.0.1:$PORT/vulns" -images "$IMAGES" -versions "$VERSIONS" -distro debian-12 \
	-lib "$LIB" -sboms "$SBOMS" -feed "$FEED/osv-scalibr" -empty-feed "$EMPTY/osv-scalibr"
N_SBOMS=$(find "$SBOMS" -name '*.spdx.json' | wc -l)
N_VERSIONS=$((IMAGES * VERSIONS))

# The commands, as measured.
cmd_imgctl=("$IMGCTL" vulns "$LIB" --all-versions --vulndb "$FEED" --json)
cmd_reads=("$IMGCTL" vulns "$LIB" --all-versions --vulndb "$EMPTY" --json)
# osv-scanner exits 1 when it finds vulnerabilities: only other statuses fail.
# shellcheck disable=SC2016 # expanded by the inner shell
osv_loop='for f in "$2"/*.spdx.json; do
	"$0" scan source --offline --local-db-path "$1" --format json -L "$f" >/dev/null 2>>"$3" || [ $? -eq 1 ] || exit 1
done'
cmd_osv=(sh -c "$osv_loop" "$OSV" "$FEED" "$SBOMS" "$LOG/osv-scanner.err")

# Checks, outside the measurements.
"${cmd_imgctl[@]}" >"$WORK/imgctl.json" 2>"$LOG/check-imgctl.log"
"${cmd_reads[@]}" >"$WORK/reads.json" 2>"$LOG/check-reads.log"
got=$(jq '.images | length' "$WORK/imgctl.json")
[[ $got == "$N_VERSIONS" ]] || die "imgctl vulns reported $got versions, want $N_VERSIONS"
FINDINGS=$(jq '[.images[].platforms[].findings | length] | add' "$WORK/imgctl.json")
n=$(jq '[.images[].platforms[].findings | length] | add' "$WORK/reads.json")
[[ $n == 0 ]] || die "imgctl vulns found $n findings with the feed that matches nothing"
read -r IMG VER < <(jq -r '.images[] | select(.latest) | "\(.name) \(.version)"' "$WORK/imgctl.json" | sort | head -n 1)
ONE=$SBOMS/${IMG}_${VER}_linux-amd64.spdx.json
[[ -f $ONE ]] || die "no SBOM file $ONE"
"$OSV" scan source --offline --local-db-path "$FEED" --format json -L "$ONE" >"$WORK/osv-one.json" 2>"$LOG/check-osv.log" || [[ $? == 1 ]] ||
	die "osv-scanner failed on $ONE; see $LOG/check-osv.log"
jq -r '[.results[]?.packages[]? | .package.name as $p | .vulnerabilities[]? | "\(.id) \($p)"] | sort | .[]' "$WORK/osv-one.json" >"$WORK/osv-one.txt"
# imgctl's findings for that SBOM: all of them, and those osv-scanner can
# see: it matches a deb package by its own name and version, never by the
# source package the package URL's upstream qualifier names, which is what
# Debian's records are keyed by.
one() {
	jq -r --arg i "$IMG" --arg v "$VER" '[.images[] | select(.name == $i and .version == $v) | .platforms[] |
		select(.platform == "linux/amd64") | .findings[] | '"$1"' | "\(.id) \(.package)"] | sort | .[]' "$WORK/imgctl.json"
}
one . >"$WORK/imgctl-one.txt"
one 'select(.source == null and (.installed | contains(":") | not))' >"$WORK/imgctl-one-byname.txt"
{
	echo "$IMG $VER linux/amd64: imgctl $(wc -l <"$WORK/imgctl-one.txt") findings, $(wc -l <"$WORK/imgctl-one-byname.txt") of them on packages named and versioned as their source; osv-scanner $(wc -l <"$WORK/osv-one.txt") (id, package)"
	echo "only imgctl:"
	comm -23 "$WORK/imgctl-one.txt" "$WORK/osv-one.txt"
	echo "only osv-scanner:"
	comm -13 "$WORK/imgctl-one.txt" "$WORK/osv-one.txt"
} >"$WORK/compare.txt"
ONLY_IMGCTL=$(comm -23 "$WORK/imgctl-one.txt" "$WORK/osv-one.txt" | wc -l)
ONLY_OSV=$(comm -13 "$WORK/imgctl-one.txt" "$WORK/osv-one.txt" | wc -l)
cmp -s "$WORK/imgctl-one-byname.txt" "$WORK/osv-one.txt" ||
	die "osv-scanner's findings on $ONE differ from imgctl's on packages named as their source; see $WORK/compare.txt"
log "$(head -n 1 "$WORK/compare.txt"); only imgctl $ONLY_IMGCTL, only osv-scanner $ONLY_OSV (see $WORK/compare.txt)"

# measure ROUND TOOL CMD... runs CMD (stdout to /dev/null, stderr to
# LOG/ROUND-TOOL.log) and appends its wall, CPU and peak RSS to SAMPLES.
measure() {
	local round=$1 tool=$2 t0 t1 f
	shift 2
	t0=$EPOCHREALTIME
	if ! /usr/bin/time -f '%U %S %M' -o "$WORK/time.out" "$@" >/dev/null 2>"$LOG/$round-$tool.log"; then
		tail -n 20 "$LOG/$round-$tool.log" >&2
		die "round $round: $tool failed; see $LOG/$round-$tool.log"
	fi
	t1=$EPOCHREALTIME
	read -r -a f < <(tail -n 1 "$WORK/time.out")
	awk -v r="$round" -v n="$tool" -v a="$t0" -v b="$t1" -v u="${f[0]}" -v s="${f[1]}" -v m="${f[2]}" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
		'BEGIN { printf "%s\t%s\t%.3f\t%.2f\t%d\t%s\n", r, n, b - a, u + s, m, l }' >>"$SAMPLES"
	log "round $round: $tool $(tail -n 1 "$SAMPLES" | cut -f3)s wall, $(tail -n 1 "$SAMPLES" | cut -f4)s CPU"
}

run_tool() {
	case $2 in
	imgctl) measure "$1" imgctl "${cmd_imgctl[@]}" ;;
	osv-scanner) measure "$1" osv-scanner "${cmd_osv[@]}" ;;
	reads) measure "$1" reads "${cmd_reads[@]}" ;;
	esac
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "work directory $WORK; $N_VERSIONS versions, $N_SBOMS SBOMs; rounds $RUNS; load $LOAD0"
printf 'round\ttool\twall_s\tcpu_s\tmaxrss_kb\tload1\n' >"$SAMPLES"
TOOLS=(imgctl osv-scanner reads)
for t in "${TOOLS[@]}"; do run_tool warmup "$t"; done
for ((r = 1; r <= RUNS; r++)); do
	for ((i = 0; i < ${#TOOLS[@]}; i++)); do
		run_tool "$r" "${TOOLS[(i + r - 1) % ${#TOOLS[@]}]}"
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

report() {
	awk -F'\t' -v load0="$LOAD0" -v load1="$LOAD1" -v nv="$N_VERSIONS" -v ns="$N_SBOMS" -v nf="$FINDINGS" '
function median(arr, key,   n, i, j, t, v) {
	n = cnt[key]
	for (i = 1; i <= n; i++) v[i] = arr[key, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
NR == 1 || $1 == "warmup" { next }
{
	k = $2; n = ++cnt[k]; wall[k, n] = $3; cpu[k, n] = $4; rss[k, n] = $5
	w[k, $1] = $3; c[k, $1] = $4; if ($1 > nr) nr = $1
	line[k] = line[k] sprintf(" %8.2f", $3)
}
END {
	for (m = 1; m <= nr; m++) {
		r = m
		rat["io", m] = w["imgctl", r] / w["osv-scanner", r]; rat["ir", m] = w["imgctl", r] / w["reads", r]
		rat["cio", m] = c["imgctl", r] / c["osv-scanner", r]; rat["cir", m] = c["imgctl", r] / c["reads", r]
		per["io"] = per["io"] sprintf(" %.3f", rat["io", m]); per["ir"] = per["ir"] sprintf(" %.2f", rat["ir", m])
	}
	cnt["io"] = cnt["ir"] = cnt["cio"] = cnt["cir"] = nr
	printf "Every run, rounds in order (wall seconds):\n"
	for (t = 1; t <= 3; t++) { k = (t == 1) ? "imgctl" : (t == 2) ? "osv-scanner" : "reads"; printf "  %-12s%s\n", k, line[k] }
	printf "\nLoad average (1, 5, 15 min) before: %s, after: %s\n\n", load0, load1
	printf "%d versions, %d SBOMs, %d findings; medians of %d interleaved round(s):\n\n", nv, ns, nf, nr
	printf "| command | wall (s) | CPU (s) | peak RSS (MB) |\n|---|---:|---:|---:|\n"
	printf "| imgctl vulns --all-versions (A) | %.2f | %.2f | %.0f |\n", median(wall, "imgctl"), median(cpu, "imgctl"), median(rss, "imgctl") / 1024
	printf "| osv-scanner, once per SBOM (B) | %.2f | %.2f | %.0f |\n", median(wall, "osv-scanner"), median(cpu, "osv-scanner"), median(rss, "osv-scanner") / 1024
	printf "| imgctl registry reads alone, empty feed (C) | %.2f | %.2f | %.0f |\n", median(wall, "reads"), median(cpu, "reads"), median(rss, "reads") / 1024
	printf "\n| ratio (median of the rounds) | wall | CPU | goal |\n|---|---:|---:|:--|\n"
	printf "| A / B | %.3f (B %.1f× A) | %.3f | A ≥ 10× faster than B: %s |\n", median(rat, "io"), 1 / median(rat, "io"), median(rat, "cio"), (median(rat, "io") <= 0.1) ? "met" : "missed"
	printf "| A / C | %.2f | %.2f | A ≤ 1.5× C: %s |\n", median(rat, "ir"), median(rat, "cir"), (median(rat, "ir") <= 1.5) ? "met" : "missed"
	printf "\nPer round, wall: A/B%s; A/C%s\n", per["io"], per["ir"]
}' "$SAMPLES"
}

{
	echo "vulns benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, imgctl $(git -C "$REPO_ROOT" rev-parse --short HEAD), osv-scanner $OSV_VERSION"
	echo
	report
	echo
	echo "Same findings check: $(head -n 1 "$WORK/compare.txt"); only imgctl: $ONLY_IMGCTL, only osv-scanner: $ONLY_OSV"
} | tee "$OUT/vulns.md"
cp "$SAMPLES" "$OUT/vulns.samples"
log "report in $OUT/vulns.md, samples in $OUT/vulns.samples, logs in $LOG"
