#!/usr/bin/env bash
# registry.sh: Apicurio Registry 2.0.2.Final (in-memory storage) on 127.0.0.1, serving the
# Confluent-compatible schema registry API at /apis/ccompat/v6, for the Avro and Protobuf
# tests and for trying binary events by hand. Its jars come from Maven Central; Maven builds
# the runnable application from registry/pom.xml into the cache, once (see the pom for why
# this version).
#
#   registry.sh build   build the application if it is not cached; prints the runner jar
#   registry.sh start   build if needed, start it on a free port and wait until the API
#                       answers; prints "registry: listening on http://127.0.0.1:PORT/apis/ccompat/v6".
#                       If one is already running and answering, just prints its address.
#   registry.sh stop    stop it (SIGTERM, SIGKILL after 20 s) and delete its state
#   registry.sh status  exit 0 and print the address if it answers, else exit 1
#
# State: $STREAMSCORE_RUN/registry/ (registry.pid, registry.log, url).
# REGISTRY_HEAP_OPTS overrides the heap (default -Xms128m -Xmx512m).
set -euo pipefail

LOG_NAME=registry
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC="$LOCAL_DIR/registry"
BUILD="$STREAMSCORE_CACHE/apicurio-registry-2.0.2.Final"
JAR="$BUILD/target/registry-app-1-runner.jar"
MARKER="$BUILD/build.complete"
STATE="$STREAMSCORE_RUN/registry"
PIDFILE="$STATE/registry.pid"
URLFILE="$STATE/url"
LOGFILE="$STATE/registry.log"
READY_TIMEOUT="${REGISTRY_READY_TIMEOUT:-120}"
HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms128m -Xmx512m}"

sources_sum() { cat "$SRC/pom.xml" "$SRC/src/main/resources/application.properties" | sha256sum | cut -d' ' -f1; }

cmd_build() {
	local sum
	sum="$(sources_sum)"
	if [[ -f "$MARKER" && "$(<"$MARKER")" == "$sum" && -f "$JAR" ]]; then
		echo "$JAR"
		return 0
	fi
	lock registry-build
	if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
		apt_install openjdk-17-jre-headless maven
	fi
	say "building Apicurio Registry 2.0.2.Final with mvn into $BUILD (first run only; a few minutes)"
	local start=$SECONDS
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	cp -r "$SRC/pom.xml" "$SRC/src" "$BUILD/"
	# Debian's Maven 3.8 prints stray colour resets even in batch mode; strip them.
	if ! mvn -B -q -Dstyle.color=never -f "$BUILD/pom.xml" package -DskipTests 2>&1 |
		sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2; then
		die "mvn could not build the registry from $SRC/pom.xml (see the Maven errors above)"
	fi
	[[ -f "$JAR" ]] || die "mvn finished but $JAR is missing"
	echo "$sum" >"$MARKER"
	say "built in $((SECONDS - start))s"
	echo "$JAR"
}

running_pid() { pid_alive "$PIDFILE" "$JAR"; }

api_ok() { curl -fsS -o /dev/null --max-time 2 "$1/subjects" 2>/dev/null; }

cmd_start() {
	cmd_build >/dev/null
	lock registry
	local pid
	if pid="$(running_pid)" && api_ok "$(<"$URLFILE")"; then
		echo "registry: listening on $(<"$URLFILE")"
		return 0
	fi
	[[ -n "${pid:-}" ]] && stop_pid "$pid" 20
	rm -rf "$STATE"
	mkdir -p "$STATE"
	local port url start=$SECONDS
	port="$(free_port)"
	url="http://127.0.0.1:$port/apis/ccompat/v6"
	echo "$url" >"$URLFILE"
	# shellcheck disable=SC2086
	nohup java $HEAP_OPTS -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
		-Dquarkus.log.console.color=false -jar "$JAR" >"$LOGFILE" 2>&1 9>&- &
	echo $! >"$PIDFILE"
	until api_ok "$url"; do
		if ! running_pid >/dev/null; then
			show_log "$LOGFILE"
			die "the registry exited during start-up"
		fi
		if ((SECONDS - start > READY_TIMEOUT)); then
			show_log "$LOGFILE"
			die "the registry did not answer on $url within ${READY_TIMEOUT}s"
		fi
		sleep 0.5
	done
	say "started in $((SECONDS - start))s (pid $(<"$PIDFILE"), logs in $LOGFILE)"
	echo "registry: listening on $url"
}

cmd_stop() {
	lock registry
	local pid
	if pid="$(running_pid)"; then
		stop_pid "$pid" 20
	fi
	rm -rf "$STATE"
}

cmd_status() {
	if running_pid >/dev/null && api_ok "$(<"$URLFILE")"; then
		echo "registry: listening on $(<"$URLFILE")"
		return 0
	fi
	return 1
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "usage: registry.sh build|start|stop|status" ;;
esac
