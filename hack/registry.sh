#!/usr/bin/env bash
# registry.sh start|stop|status DIR PORT
#
# Runs Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1:PORT with
# its storage, config, log and pidfile under DIR. Deleting is disabled.
# start is a no-op when that registry is already running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|status DIR PORT" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
cmd=$1 dir=$(abspath "$2") port=$3
[[ $port =~ ^[0-9]+$ ]] || die "port must be a number, got $port"

pidfile=$dir/registry.pid
logfile=$dir/registry.log
config=$dir/config.yml
name=docker-registry
addr=127.0.0.1:$port

# answers succeeds when GET /v2/ on addr returns 200. Pure bash: no curl.
answers() {
	local line
	{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
	printf 'GET /v2/ HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
	IFS= read -r -t 2 line <&3 || { exec 3>&-; return 1; }
	exec 3>&-
	[[ $line == "HTTP/1."?" 200"* ]]
}

write_config() {
	cat >"$config" <<YAML
# Written by hack/registry.sh.
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: false
http:
  addr: $addr
YAML
}

case $cmd in
start)
	command -v docker-registry >/dev/null || die "docker-registry not found; run hack/install-deps.sh"
	mkdir -p "$dir/storage"
	if pid=$(pid_alive "$pidfile" "$name"); then
		grep -qF "addr: $addr" "$config" ||
			die "a registry (pid $pid) already runs from $dir on another port"
		answers || die "registry (pid $pid) runs but $addr/v2/ does not answer"
		log "registry already running (pid $pid) on $addr"
		exit 0
	fi
	if answers; then
		die "something else already answers on $addr"
	fi
	write_config
	log "starting docker-registry on $addr, storage $dir/storage, log $logfile"
	spawn "$pidfile" "$logfile" docker-registry serve "$config"
	wait_for 30 "$pidfile" "$name" "$logfile" answers
	log "registry running (pid $(<"$pidfile")) on $addr"
	;;
stop)
	stop_pid "$pidfile" "$name" 10
	log "registry on $addr stopped"
	;;
status)
	report_status "$pidfile" "$name" "$addr"
	;;
*) usage ;;
esac
