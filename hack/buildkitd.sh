#!/usr/bin/env bash
# buildkitd.sh start|stop|restart|status DIR
#
# Runs <repo>/bin/buildkitd (built by hack/install-deps.sh) as root with the
# OCI worker (runc) and its state under DIR: DIR/root, socket
# DIR/buildkitd.sock, log DIR/buildkitd.log, pidfile DIR/buildkitd.pid.
# Prints nothing on stdout except for status; use
#   BUILDKIT_HOST=unix://DIR/buildkitd.sock
# to point clients at it. start is a no-op when it is already running.
#
# buildkitd detects QEMU emulators once, when it starts, so start first
# runs `install-deps.sh binfmt` (QEMU handlers for linux/arm64 and more);
# when that fails it warns and starts a daemon for the native platform
# only. A running daemon that lacks linux/arm64 although the handlers are
# registered now was started before them: start says so; restart it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|restart|status DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1 dir=$(abspath "$2")

buildkitd=$REPO_ROOT/bin/buildkitd
buildctl=$REPO_ROOT/bin/buildctl
pidfile=$dir/buildkitd.pid
logfile=$dir/buildkitd.log
addr=unix://$dir/buildkitd.sock
name=buildkitd

answers() { "$buildctl" --addr "$addr" debug workers >/dev/null 2>&1; }

# worker_platforms prints the platforms the daemon's workers support, one
# per line.
worker_platforms() {
	"$buildctl" --addr "$addr" debug workers \
		--format '{{range .}}{{range .Platforms}}{{.OS}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}{{"\n"}}{{end}}{{end}}'
}

# check_emulation warns when the daemon lacks linux/arm64 although the QEMU
# aarch64 handler is registered: it was started before the handler.
check_emulation() {
	local pid=$1 have
	have=$(worker_platforms 2>/dev/null) || true
	grep -qx linux/arm64 <<<"$have" && return 0
	if binfmt_enabled aarch64; then
		log "warning: buildkitd (pid $pid) does not list linux/arm64 although the QEMU aarch64 handler is registered now:" \
			"it was started before the handler and cannot build arm64 images; restart it: $0 restart $dir"
	else
		log "warning: buildkitd (pid $pid) does not list linux/arm64 and QEMU emulation is not set up:" \
			"run hack/install-deps.sh binfmt, then $0 restart $dir"
	fi
}

# enable_emulation registers the QEMU handlers before buildkitd starts.
enable_emulation() {
	if ! "$REPO_ROOT/hack/install-deps.sh" binfmt; then
		log "warning: QEMU emulation is not set up (see above): buildkitd will build for its native platform only"
	fi
}

start() {
	[[ -x $buildkitd && -x $buildctl ]] || die "$buildkitd or $buildctl missing; run hack/install-deps.sh"
	[[ $(id -u) -eq 0 ]] || die "buildkitd needs root (OCI worker with runc)"
	command -v runc >/dev/null || die "runc not found; run hack/install-deps.sh"
	(( ${#addr} < 100 )) || die "socket path too long for a unix socket: $addr"
	mkdir -p "$dir/root"
	if pid=$(pid_alive "$pidfile" "$name"); then
		answers || die "buildkitd (pid $pid) runs but $addr does not answer"
		log "buildkitd already running (pid $pid) on $addr"
		check_emulation "$pid"
		exit 0
	fi
	enable_emulation
	rm -f "$dir/buildkitd.sock"
	log "starting buildkitd on $addr, root $dir/root, log $logfile"
	spawn "$pidfile" "$logfile" "$buildkitd" \
		--root "$dir/root" \
		--addr "$addr" \
		--oci-worker=true \
		--containerd-worker=false
	wait_for 60 "$pidfile" "$name" "$logfile" answers
	local platforms
	platforms=$(worker_platforms | paste -sd ' ') || true
	log "buildkitd running (pid $(<"$pidfile")) on $addr, platforms: ${platforms% }"
}

stop() {
	stop_pid "$pidfile" "$name" 30
	rm -f "$dir/buildkitd.sock"
	log "buildkitd on $addr stopped"
}

case $cmd in
start) start ;;
stop) stop ;;
restart)
	stop
	start
	;;
status)
	report_status "$pidfile" "$name" "$addr"
	;;
*) usage ;;
esac
