#!/usr/bin/env bash
# redis.sh: Debian's redis-server on 127.0.0.1 for tests and the demo, with an
# append-only file (appendonly yes, fsync every second), so a restart keeps the drift
# windows and features it held, as a production Redis for streamscore should.
#
#   redis.sh start    install redis-server if missing, start it fresh (empty) on a free
#                     port and wait for PONG; prints "redis: listening on 127.0.0.1:PORT".
#                     If one is already running and answering, just prints its address.
#   redis.sh restart  stop it and start it again on the same port with the same data
#                     (SIGTERM lets it flush its append-only file); prints the address
#   redis.sh stop     stop it (SIGTERM, SIGKILL after 20 s) and delete its state
#   redis.sh status   exit 0 and print the address if it answers, else exit 1
#
# State: $STREAMSCORE_RUN/redis/ (redis.pid, redis.log, address, appendonlydir/).
set -euo pipefail

LOG_NAME=redis
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="$STREAMSCORE_RUN/redis"
PIDFILE="$STATE/redis.pid"
ADDRFILE="$STATE/address"
LOGFILE="$STATE/redis.log"
READY_TIMEOUT="${REDIS_READY_TIMEOUT:-30}"

ensure_redis() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		apt_install redis-server redis-tools
		command -v redis-server >/dev/null || die "redis-server is still missing after apt-get install"
	fi
}

# running_pid prints the pid of our redis-server. Redis rewrites its process title to
# "redis-server 127.0.0.1:PORT", so that is what identifies it.
running_pid() {
	[[ -s "$ADDRFILE" ]] || return 1
	pid_alive "$PIDFILE" "redis-server $(<"$ADDRFILE")"
}

ping() {
	local port="$1"
	[[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]
}

port() { local a; a="$(<"$ADDRFILE")"; echo "${a##*:}"; }

print_address() { echo "redis: listening on $(<"$ADDRFILE")"; }

cmd_start() {
	lock redis
	ensure_redis
	local pid
	if pid="$(running_pid)" && ping "$(port)"; then
		print_address
		return 0
	fi
	if [[ -n "${pid:-}" ]]; then
		say "redis-server pid $pid does not answer; restarting it"
		stop_pid "$pid" 20
	fi
	rm -rf "$STATE"
	mkdir -p "$STATE"
	local port
	port="$(free_port "")"
	echo "127.0.0.1:$port" >"$ADDRFILE"
	launch "$port"
}

# launch starts redis-server on 127.0.0.1:$1 with its data in $STATE and waits for PONG.
launch() {
	local port="$1" start=$SECONDS pid
	# --daemonize yes: redis forks, writes its pid file and returns; 9>&- keeps the
	# daemon from holding this script's lock.
	if ! redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
		--save '' --appendonly yes --appendfsync everysec --dir "$STATE" \
		--daemonize yes --pidfile "$PIDFILE" --logfile "$LOGFILE" \
		</dev/null >>"$STATE/console.log" 2>&1 9>&-; then
		show_log "$STATE/console.log" 20
		show_log "$LOGFILE" 20
		die "redis-server failed to start (logs above)"
	fi
	while ((SECONDS - start < READY_TIMEOUT)); do
		if ping "$port"; then
			pid="$(running_pid)" || die "redis answers on $port but its pid file $PIDFILE is missing"
			say "started (pid $pid, logs in $STATE)"
			print_address
			return 0
		fi
		sleep 0.1
	done
	show_log "$STATE/console.log" 20
	show_log "$LOGFILE" 20
	die "redis-server did not answer PING on 127.0.0.1:$port within ${READY_TIMEOUT}s (logs above)"
}

cmd_restart() {
	lock redis
	ensure_redis
	[[ -s "$ADDRFILE" ]] || die "not started: run '$0 start' first"
	local pid port i
	port="$(port)"
	if pid="$(running_pid)"; then
		say "stopping redis-server (pid $pid) to restart it on port $port with its data"
		stop_pid "$pid" 20
	fi
	for ((i = 0; i < 100; i++)); do
		port_in_use "$port" || break
		sleep 0.1
	done
	port_in_use "$port" && die "port $port is still taken after redis-server stopped"
	launch "$port"
}

cmd_stop() {
	lock redis
	local pid
	if pid="$(running_pid)"; then
		say "stopping redis-server (pid $pid)"
		stop_pid "$pid" 20
	else
		say "not running"
	fi
	rm -f "$PIDFILE" "$ADDRFILE"
}

cmd_status() {
	if running_pid >/dev/null && ping "$(port)"; then
		print_address
		return 0
	fi
	echo "redis: not running"
	return 1
}

case "${1:-}" in
start) cmd_start ;;
restart) cmd_restart ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 start|restart|stop|status" >&2
	exit 2
	;;
esac
