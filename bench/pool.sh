#!/usr/bin/env bash
# bench/pool.sh — imgctl publish on a pool of 1, 2 and 3 BuildKit daemons.
#
# Publishes the 40-image bench graph (bench/publish/gen: 1 root FROM scratch
# + a busybox rootfs tar, 3 families, 36 teams, 2–3 RUN steps each) cold —
# fresh daemons (empty state directories), a new registry prefix — with
#   d1, d2, d3   imgctl publish --buildkit ×N (N daemons on this machine,
#                each with its own root and socket), --jobs 8 (per daemon)
#   serial       one daemon, --jobs 1: every image built alone, the
#                uncontended per-image build times
# ROUNDS times, the configurations' order rotating from round to round. For
# each run it reads the summary table (build time and daemon of every
# image) and computes the critical path: the longest chain root → family →
# team of per-image build times of that run, the lower bound of any
# schedule of that run's builds. It prints every run, the medians per
# configuration, wall / critical path, the speedup over d1, and the machine's
# load average (another engineer's tests share these 2 cores: compare the
# ratios measured in one run of this script, not absolute times).
#
# It writes the median uncontended time of each image (from serial) with its
# parent to pool-times.tsv, the input of bench/cmd/poolsim (the 1,000-image
# simulation).
#
# Environment:
#   ROUNDS           rounds (default 3, at least 1)
#   BENCH_POOL_PORT  registry port on 127.0.0.1 (default 5056)
#   BENCH_POOL_DIR   work directory (default: a new /tmp/imgctl-bench-pool.*)
#   BENCH_OUT        where pool.md, pool.samples and pool-times.tsv are copied
#                    (default _output/bench)
#   BENCH_DATE       imgctl --date (default today, UTC)
#
# Needs root (buildkitd), bin/buildkitd, bin/buildctl (make deps), the SBOM
# scanner (make scanner), skopeo;
# builds imgctl from this tree. `make bench-pool` runs it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"

ROUNDS=${ROUNDS:-3}
PORT=${BENCH_POOL_PORT:-5056}
DATE=${BENCH_DATE:-$(date -u +%F)}
OUT=${BENCH_OUT:-$REPO_ROOT/_output/bench}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, got $ROUNDS"
BIN=$REPO_ROOT/bin
for b in buildkitd buildctl; do
	[[ -x $BIN/$b ]] || die "$BIN/$b missing; run make deps"
done

WORK=${BENCH_POOL_DIR:-$(mktemp -d /tmp/imgctl-bench-pool.XXXXXX)}
WORK=$(abspath "$WORK")
mkdir -p "$WORK"
[[ -z $(ls -A "$WORK") ]] || die "$WORK is not empty"
LOG=$WORK/log
RESULTS=$WORK/results.tsv
TIMES=$WORK/times.tsv
mkdir -p "$LOG" "$OUT"
printf 'round\tconfig\tdaemons\twall_s\tcritical_s\tsum_s\tload1\tper_daemon\n' >"$RESULTS"
printf 'round\tconfig\timage\tparent\tbuild_s\tdaemon\n' >"$TIMES"
unset BUILDKIT_HOST
# The graph's images carry the default SBOM and provenance: imgctl's own
# scanner (make scanner) is pushed to each run's registry prefix.
export IMGCTL_SCANNER_DIR=${IMGCTL_SCANNER_DIR:-$BIN/scanner}
[[ -d $IMGCTL_SCANNER_DIR ]] || die "$IMGCTL_SCANNER_DIR missing; run make scanner"

IMGCTL=$WORK/imgctl
log "building imgctl from $REPO_ROOT"
(cd "$REPO_ROOT" && go build -trimpath -o "$IMGCTL" ./cmd/imgctl)

MAXD=3
cleanup() {
	local i
	for ((i = 1; i <= MAXD; i++)); do
		"$REPO_ROOT/hack/buildkitd.sh" stop "$WORK/bk$i" 2>/dev/null || true
		rm -rf "$WORK/bk$i/root"
	done
	"$REPO_ROOT/hack/registry.sh" stop "$WORK/registry" "$PORT" 2>/dev/null || true
	rm -rf "$WORK/registry/storage"
	find "$WORK" -name 'busybox*.tar' -delete 2>/dev/null || true
}
trap cleanup EXIT

# daemons N restarts daemons 1..N on empty state directories and stops the
# others: every run is cold.
daemons() {
	local n=$1 i
	for ((i = 1; i <= MAXD; i++)); do
		"$REPO_ROOT/hack/buildkitd.sh" stop "$WORK/bk$i" 2>>"$LOG/daemons.log" || true
		rm -rf "$WORK/bk$i/root"
	done
	for ((i = 1; i <= n; i++)); do
		"$REPO_ROOT/hack/buildkitd.sh" start "$WORK/bk$i" 2>>"$LOG/daemons.log"
	done
}

log "work directory $WORK"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
"$REPO_ROOT/hack/rootfs.sh" busybox "$REPO_ROOT/_output/rootfs/busybox.tar" 2>>"$LOG/daemons.log" ||
	die "hack/rootfs.sh busybox failed; see $LOG/daemons.log"
(cd "$REPO_ROOT" && go run ./bench/publish/gen -out "$WORK/graph" -rootfs "$REPO_ROOT/_output/rootfs/busybox.tar")
"$REPO_ROOT/hack/registry.sh" start "$WORK/registry" "$PORT" 2>>"$LOG/daemons.log"
# The graph: image and parent ("" for the root), from the plan.
"$IMGCTL" plan "$WORK/graph/imgctl" --registry "127.0.0.1:$PORT/plan" --json |
	jq -r '.images[] | [.name, (.base.image // "")] | @tsv' >"$WORK/parents.tsv"
[[ $(wc -l <"$WORK/parents.tsv") -eq 40 ]] || die "the bench graph is not 40 images: $WORK/parents.tsv"

# run ROUND CONFIG publishes the graph cold for CONFIG and records it.
run() {
	local round=$1 config=$2 n jobs=8 args=() i t0 t1 out prefix
	case $config in
	d[1-9]) n=${config#d} ;;
	serial) n=1 jobs=1 ;;
	esac
	daemons "$n"
	for ((i = 1; i <= n; i++)); do args+=(--buildkit "unix://$WORK/bk$i/buildkitd.sock"); done
	prefix=127.0.0.1:$PORT/r$round-$config
	out=$LOG/r$round-$config.log
	t0=$EPOCHREALTIME
	if ! "$IMGCTL" publish "$WORK/graph/imgctl" --registry "$prefix" --date "$DATE" --progress quiet \
		--jobs "$jobs" "${args[@]}" >"$out" 2>&1; then
		log "round $round $config failed; last lines of $out:"
		tail -n 30 "$out" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	grep -q "^40 images built" "$out" || die "round $round $config did not build 40 images; see $out"
	# Every image is in the registry, at the digest the summary names.
	awk '$3 ~ /^sha256:/ { print $1, $3 }' "$out" | while read -r img dgst; do
		got=$(skopeo inspect --tls-verify=false --raw "docker://$prefix/$img:latest" | sha256sum | awk '{print "sha256:" $1}')
		[[ $got == "$dgst" ]] || die "round $round $config: $prefix/$img:latest is $got, the summary says $dgst"
	done
	# image, build seconds, daemon: from the summary table.
	awk -v r="$round" -v c="$config" 'NR == FNR { parent[$1] = $2; next }
		$3 ~ /^sha256:/ { t = $4; sub(/s$/, "", t); printf "%s\t%s\t%s\t%s\t%s\t%s\n", r, c, $1, parent[$1], t, $5 }' \
		"$WORK/parents.tsv" "$out" >>"$TIMES"
	awk -F'\t' -v r="$round" -v c="$config" -v n="$n" -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
		-v load="$(cut -d' ' -f1 /proc/loadavg)" '
		$1 == r && $2 == c { t[$3] = $5; p[$3] = $4; sum += $5; per[$6]++ }
		function cp(i) { return t[i] + (p[i] == "" ? 0 : cp(p[i])) }
		END {
			for (i in t) { v = cp(i); if (v > best) best = v }
			s = ""; for (d in per) s = s (s == "" ? "" : ",") per[d]
			printf "%s\t%s\t%s\t%s\t%.2f\t%.1f\t%s\t%s\n", r, c, n, wall, best, sum, load, s
		}' "$TIMES" >>"$RESULTS"
	log "round $round: $(tail -n 1 "$RESULTS" | awk -F'\t' '{ printf "%s %ss wall, critical path %ss (%.2fx), builds per daemon %s, load %s", $2, $4, $5, $4 / $5, $8, $7 }')"
}

CONFIGS=(d1 d2 d3 serial)
for ((round = 1; round <= ROUNDS; round++)); do
	k=$(((round - 1) % ${#CONFIGS[@]}))
	for c in "${CONFIGS[@]:k}" "${CONFIGS[@]:0:k}"; do run "$round" "$c"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# Medians per configuration, and the per-image uncontended times.
report=$WORK/pool.md
{
	echo "bench/pool.sh: 40-image bench graph cold, $ROUNDS rounds, $(nproc) CPUs; load average before $LOAD0, after $LOAD1"
	echo
	echo "| daemons | --jobs | wall (median) | critical path (median) | wall / critical path | speedup over 1 daemon | builds per daemon (last round) | load1 (median) |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' 'NR > 1 { k = $2; n[k]++; w[k, n[k]] = $4; c[k, n[k]] = $5; l[k, n[k]] = $7; per[k] = $8; d[k] = $3 }
		function med(a, k, m,   i, j, x, v) { for (i = 1; i <= m; i++) v[i] = a[k, i]
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2 }
		END {
			base = med(w, "d1", n["d1"])
			split("d1 d2 d3 serial", order, " ")
			for (o = 1; o <= 4; o++) { k = order[o]; if (!n[k]) continue
				mw = med(w, k, n[k]); mc = med(c, k, n[k])
				printf "| %s | %s | %.1f s | %.1f s | %.2fx | %.2fx | %s | %s |\n", d[k], (k == "serial" ? 1 : 8), mw, mc, mw / mc, base / mw, per[k], med(l, k, n[k]) }
		}' "$RESULTS"
} >"$report"
# image, parent, median seconds built alone (serial).
awk -F'\t' 'NR > 1 && $2 == "serial" { n[$3]++; v[$3, n[$3]] = $5; p[$3] = $4 }
	END { for (i in n) { m = n[i]; for (a = 1; a <= m; a++) s[a] = v[i, a]
		for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (s[b] < s[a]) { x = s[a]; s[a] = s[b]; s[b] = x }
		printf "%s\t%s\t%s\n", i, p[i], (m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2) } }' "$TIMES" |
	sort >"$WORK/pool-times.tsv"
cp "$report" "$OUT/pool.md"
cp "$RESULTS" "$OUT/pool.samples"
cp "$WORK/pool-times.tsv" "$OUT/pool-times.tsv"
cat "$report"
log "samples in $RESULTS, per-image times in $TIMES; report copied to $OUT/pool.md"
