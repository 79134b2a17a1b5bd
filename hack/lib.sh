# shellcheck shell=bash
# Shared helpers for the hack/ scripts. Source it; do not run it.

# REPO_ROOT is the repository root (the directory holding go.mod).
# shellcheck disable=SC2034 # used by the scripts that source this file
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# BINFMT_DIR is where binfmt_misc is mounted (hack/install-deps.sh binfmt
# mounts it).
BINFMT_DIR=/proc/sys/fs/binfmt_misc

# GO_BUILD_ENV and GO_BUILD_FLAGS are how every binary of the project is
# built: bin/imgctl (the Makefile's build, which spells them out), the tools
# (install-deps.sh tools) and the SBOM scanner (scanner.sh): static, without
# the builder's paths, without a VCS stamp. One configuration for all of them
# means that the packages they share (the standard library, grpc, protobuf,
# otel, buildkit's client, containerd, go-containerregistry, cue, sigstore)
# compile once into GOCACHE: the compiler's cache keys include the cgo
# setting and -trimpath, so a binary built otherwise compiles them all again.
# -ldflags only change the link, never a package.
# shellcheck disable=SC2034 # used by the scripts that source this file
GO_BUILD_ENV=(CGO_ENABLED=0)
# shellcheck disable=SC2034
GO_BUILD_FLAGS=(-mod=readonly -trimpath -buildvcs=false)

# log prints its arguments to stderr, prefixed with the script name.
log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# die logs its arguments and exits 1.
die() { log "error: $*"; exit 1; }

# abspath prints the absolute form of a path that need not exist yet.
abspath() { realpath -m -- "$1"; }

# pid_alive PIDFILE NAME succeeds when PIDFILE names a live process whose
# command line contains NAME, and prints its pid.
pid_alive() {
	local pidfile=$1 name=$2 pid cmdline
	[[ -s $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	# Read whole, then matched: "tr | grep -q" can fail under pipefail when
	# grep stops reading first.
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline") || return 1
	[[ $cmdline == *"$name"* ]] || return 1
	echo "$pid"
}

# spawn PIDFILE LOGFILE CMD... starts CMD in its own session, detached from
# the calling shell, appending its output to LOGFILE and its pid to PIDFILE.
spawn() {
	local pidfile=$1 logfile=$2
	shift 2
	# Without job control a background job is not a process-group leader,
	# so setsid calls setsid(2) in place and $! is the daemon's own pid.
	setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
}

# stop_pid PIDFILE NAME TIMEOUT sends SIGTERM to the process in PIDFILE,
# waits up to TIMEOUT seconds, then sends SIGKILL. Removes PIDFILE.
stop_pid() {
	local pidfile=$1 name=$2 timeout=$3 pid i
	if ! pid=$(pid_alive "$pidfile" "$name"); then
		rm -f "$pidfile"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		[[ -e /proc/$pid ]] || break
		sleep 0.1
	done
	if [[ -e /proc/$pid ]]; then
		log "$name (pid $pid) did not stop in ${timeout}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# wait_for TIMEOUT PIDFILE NAME LOGFILE CMD... polls CMD every 0.1 s until it
# succeeds, failing early (with the log tail) if the daemon exits.
wait_for() {
	local timeout=$1 pidfile=$2 name=$3 logfile=$4 i
	shift 4
	for ((i = 0; i < timeout * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [[ ! -e /proc/$(<"$pidfile") ]]; then
			log "$name exited during start-up; last lines of $logfile:"
			tail -n 20 "$logfile" >&2 || true
			rm -f "$pidfile"
			return 1
		fi
		sleep 0.1
	done
	log "$name did not become ready in ${timeout}s; last lines of $logfile:"
	tail -n 20 "$logfile" >&2 || true
	kill -KILL "$(<"$pidfile")" 2>/dev/null || true
	rm -f "$pidfile"
	return 1
}

# report_status PIDFILE NAME ADDR: prints "running pid=… addr=…" and exits 0
# when the daemon is alive and the caller's answers function succeeds,
# otherwise prints "stopped" and exits 1.
report_status() {
	local pid
	if pid=$(pid_alive "$1" "$2") && answers; then
		echo "running pid=$pid addr=$3"
		exit 0
	fi
	echo "stopped"
	exit 1
}

# binfmt_enabled ARCH succeeds when the qemu-ARCH handler is registered and
# enabled, and binfmt_misc as a whole is enabled.
binfmt_enabled() {
	local entry=$BINFMT_DIR/qemu-$1
	[[ -r $BINFMT_DIR/status && -r $entry ]] || return 1
	[[ $(<"$BINFMT_DIR/status") == enabled && $(head -n 1 "$entry") == enabled ]]
}

# binfmt_handlers prints the registered qemu-* handlers, without the prefix.
binfmt_handlers() {
	local f names=()
	for f in "$BINFMT_DIR"/qemu-*; do
		[[ -e $f ]] && names+=("${f##*/qemu-}")
	done
	echo "${names[*]:-none}"
}
