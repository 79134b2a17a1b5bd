#!/usr/bin/env bash
# buildkitd.sh start|stop|status DIR
#
# Runs <repo>/bin/buildkitd (built by hack/install-deps.sh) as root with the
# OCI worker (runc) and its state under DIR: DIR/root, socket
# DIR/buildkitd.sock, log DIR/buildkitd.log, pidfile DIR/buildkitd.pid.
# Prints nothing on stdout except for status; use
#   BUILDKIT_HOST=unix://DIR/buildkitd.sock
# to point clients at it. start is a no-op when it is already running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1 dir=$(abspath "$2")

buildkitd=$REPO_ROOT/bin/buildkitd
buildctl=$REPO_ROOT/bin/buildctl
pidfile=$dir/buildkitd.pid
logfile=$dir/buildkitd.log
addr=unix://$dir/buildkitd.sock
name=buildkitd

answers() { "$buildctl" --addr "$addr" debug workers >/dev/null 2>&1; }

case $cmd in
start)
	[[ -x $buildkitd && -x $buildctl ]] || die "$buildkitd or $buildctl missing; run hack/install-deps.sh"
	[[ $(id -u) -eq 0 ]] || die "buildkitd needs root (OCI worker with runc)"
	command -v runc >/dev/null || die "runc not found; run hack/install-deps.sh"
	(( ${#addr} < 100 )) || die "socket path too long for a unix socket: $addr"
	mkdir -p "$dir/root"
	if pid=$(pid_alive "$pidfile" "$name"); then
		answers || die "buildkitd (pid $pid) runs but $addr does not answer"
		log "buildkitd already running (pid $pid) on $addr"
		exit 0
	fi
	rm -f "$dir/buildkitd.sock"
	log "starting buildkitd on $addr, root $dir/root, log $logfile"
	spawn "$pidfile" "$logfile" "$buildkitd" \
		--root "$dir/root" \
		--addr "$addr" \
		--oci-worker=true \
		--containerd-worker=false
	wait_for 60 "$pidfile" "$name" "$logfile" answers
	log "buildkitd running (pid $(<"$pidfile")) on $addr"
	;;
stop)
	stop_pid "$pidfile" "$name" 30
	rm -f "$dir/buildkitd.sock"
	log "buildkitd on $addr stopped"
	;;
status)
	report_status "$pidfile" "$name" "$addr"
	;;
*) usage ;;
esac
