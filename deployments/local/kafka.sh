#!/usr/bin/env bash
# kafka.sh: a single-node Apache Kafka broker (KRaft, combined broker+controller)
# on 127.0.0.1, for tests and the demo.
#
#   kafka.sh start                  start a fresh broker (empty data) on free ports; prints
#                                   "kafka: listening on 127.0.0.1:PORT". If one is already
#                                   running and answering, just prints its address.
#   kafka.sh stop                   stop it (SIGTERM, SIGKILL after 20 s) and delete its data
#   kafka.sh status                 exit 0 and print the address if it runs, else exit 1
#   kafka.sh restart-broker [--kill]
#                                   stop the process (SIGTERM, or SIGKILL with --kill to
#                                   simulate a crash), keep its data, start it again on the
#                                   same ports and wait until it answers
#   kafka.sh tool CLASS ARGS...     run a Kafka command class against the jars, e.g.
#                                   kafka.sh tool org.apache.kafka.tools.TopicCommand \
#                                     --bootstrap-server 127.0.0.1:PORT --list
#   kafka.sh fetch                  only fetch the jars into the cache
#
# Jars: Maven resolves deployments/local/kafka/pom.xml into
# $STREAMSCORE_CACHE/kafka-<version>/libs, once. State: $STREAMSCORE_RUN/kafka/
# (server.properties, data/, server.log, console.log, kafka.pid, address).
# KAFKA_HEAP_OPTS overrides the heap (default -Xms256m -Xmx1g).
set -euo pipefail

LOG_NAME=kafka
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=4.3.1
POM="$LOCAL_DIR/kafka/pom.xml"
KAFKA_HOME="$STREAMSCORE_CACHE/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"
MARKER="$KAFKA_HOME/libs.complete"
STATE="$STREAMSCORE_RUN/kafka"
DATA="$STATE/data"
PROPS="$STATE/server.properties"
PIDFILE="$STATE/kafka.pid"
ADDRFILE="$STATE/address"
PORTSFILE="$STATE/ports"
SERVER_LOG="$STATE/server.log"
CONSOLE_LOG="$STATE/console.log"
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"

ensure_java() {
	local pkgs=()
	command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
	command -v mvn >/dev/null || pkgs+=(maven)
	((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"
	local major
	major="$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')"
	[[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17 or newer; java here is version '${major:-unknown}'"
}

# fetch_jars resolves the pom into $LIBS unless a complete copy for this very pom is there.
fetch_jars() {
	local sum
	sum="$(sha256sum "$POM" | cut -d' ' -f1)"
	if [[ -f "$MARKER" && "$(<"$MARKER")" == "$sum" ]]; then
		return 0
	fi
	command -v mvn >/dev/null || ensure_java
	say "fetching Kafka $KAFKA_VERSION jars with mvn into $LIBS (first run only)"
	local start=$SECONDS tmp="$KAFKA_HOME/libs.tmp.$$"
	mkdir -p "$KAFKA_HOME"
	rm -rf "$tmp"
	# Debian's Maven 3.8 prints stray colour resets even in batch mode; strip them.
	if ! mvn -B -q -Dstyle.color=never dependency:copy-dependencies -f "$POM" -DoutputDirectory="$tmp" 2>&1 |
		sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2; then
		rm -rf "$tmp"
		die "mvn could not resolve $POM (see the Maven errors above)"
	fi
	ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing from $tmp"; }
	rm -rf "$LIBS"
	mv "$tmp" "$LIBS"
	echo "$sum" >"$MARKER"
	say "fetched $(find "$LIBS" -name "*.jar" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $((SECONDS - start))s"
}

running_pid() { pid_alive "$PIDFILE" "$PROPS"; }

broker_port() { sed -n 's/^broker=//p' "$PORTSFILE"; }
controller_port() { sed -n 's/^controller=//p' "$PORTSFILE"; }

write_config() {
	local bport="$1" cport="$2"
	mkdir -p "$STATE"
	printf 'broker=%s\ncontroller=%s\n' "$bport" "$cport" >"$PORTSFILE"
	cat >"$PROPS" <<EOF
# Written by deployments/local/kafka.sh: single-node KRaft broker for tests and the demo.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA

# One replica of everything; small internal topics so the first group or
# transaction on a fresh broker is quick.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true

# Benchmarks and soaks write tens of GB an hour: a partition keeps at most
# 4 GiB, checked every 30 s (default 5 min). Time-based retention stays at
# its default, so history written with old timestamps is not deleted while
# a test reads it (the active segment is never deleted).
log.retention.check.interval.ms=30000
log.retention.bytes=4294967296

# After a crash (restart-broker --kill) the restarted broker cannot register until
# the controller expires its old session (default 9 s); keep that short.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
EOF
	write_log4j "$STATE" "$SERVER_LOG"
}

# java_tool runs a Kafka main class with the cached jars and quiet logging.
java_tool() {
	java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$STATE/tools-log4j2.properties" \
		-cp "$LIBS/*" "$@"
}

format_storage() {
	rm -rf "$DATA"
	mkdir -p "$DATA"
	# A cluster id is a base64url-encoded random 16-byte UUID (what `StorageTool random-uuid`
	# prints); making it here saves a JVM start. It may begin with "-", so it is passed as
	# --cluster-id=ID, which the argument parser cannot take for an option.
	local cluster_id
	cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
	local out
	if ! out="$(java_tool kafka.tools.StorageTool format --config "$PROPS" \
		--cluster-id="$cluster_id" --standalone 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "formatting KRaft storage in $DATA failed (StorageTool output above)"
	fi
}

launch() {
	local pid
	# Logs written before this launch are not evidence that this one started.
	LAUNCH_LOG_OFFSET=0
	[[ -f "$SERVER_LOG" ]] && LAUNCH_LOG_OFFSET="$(stat -c %s "$SERVER_LOG")"
	# shellcheck disable=SC2086 # HEAP_OPTS is a list of flags
	nohup java $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$STATE/log4j2.properties" \
		-Dkafka.logs.dir="$STATE" \
		-cp "$LIBS/*" kafka.Kafka "$PROPS" \
		</dev/null >>"$CONSOLE_LOG" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$PIDFILE"
	LAUNCHED_PID=$pid
}

# wait_ready waits until the broker process logs that it started (which in KRaft
# means it caught up with the metadata log and was unfenced) and its listener
# accepts connections; it dies with the log tail if the process exits or time runs out.
wait_ready() {
	local pid="$1" offset="${2:-0}" bport i start=$SECONDS
	bport="$(broker_port)"
	for ((i = 0; SECONDS - start < READY_TIMEOUT; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			rm -f "$PIDFILE"
			show_log "$CONSOLE_LOG" 20
			show_log "$SERVER_LOG" 40
			die "broker process $pid exited during start-up (logs above)"
		fi
		# Not "tail | grep -q": grep exits at the first match, tail dies of
		# SIGPIPE on a long log, and pipefail then reads the match as a miss.
		if [[ -f "$SERVER_LOG" ]] && grep -q 'Kafka Server started' <(tail -c "+$((offset + 1))" "$SERVER_LOG") &&
			port_in_use "$bport"; then
			return 0
		fi
		sleep 0.2
	done
	show_log "$CONSOLE_LOG" 20
	show_log "$SERVER_LOG" 40
	die "broker (pid $pid) did not start within ${READY_TIMEOUT}s (logs above; it is left running, stop it with $0 stop)"
}

print_address() {
	echo "kafka: listening on $(<"$ADDRFILE")"
}

cmd_start() {
	lock kafka
	ensure_java
	fetch_jars
	local pid
	if pid="$(running_pid)"; then
		if port_in_use "$(broker_port)"; then
			print_address
			return 0
		fi
		say "broker pid $pid is running but not answering yet; waiting"
		wait_ready "$pid" 0
		print_address
		return 0
	fi
	rm -f "$PIDFILE" "$ADDRFILE"
	local bport cport start=$SECONDS
	bport="$(free_port)"
	cport="$(free_port "$bport")"
	write_config "$bport" "$cport"
	: >"$CONSOLE_LOG"
	: >"$SERVER_LOG"
	format_storage
	launch
	wait_ready "$LAUNCHED_PID" "$LAUNCH_LOG_OFFSET"
	echo "127.0.0.1:$bport" >"$ADDRFILE"
	say "started in $((SECONDS - start))s (pid $LAUNCHED_PID, controller on 127.0.0.1:$cport, logs in $STATE)"
	print_address
}

cmd_stop() {
	lock kafka
	local pid
	if pid="$(running_pid)"; then
		say "stopping broker (pid $pid)"
		stop_pid "$pid" 20
	else
		say "not running"
	fi
	rm -rf "$DATA"
	rm -f "$PIDFILE" "$ADDRFILE" "$PORTSFILE"
}

cmd_status() {
	if running_pid >/dev/null && [[ -s "$ADDRFILE" ]] && port_in_use "$(broker_port)"; then
		print_address
		return 0
	fi
	echo "kafka: not running"
	return 1
}

cmd_restart_broker() {
	local mode=term
	case "${1:-}" in
	"") ;;
	--kill) mode="kill" ;;
	*) die "usage: $0 restart-broker [--kill]" ;;
	esac
	lock kafka
	[[ -s "$PORTSFILE" && -d "$DATA" ]] || die "no broker state in $STATE; run '$0 start' first"
	local pid start=$SECONDS
	if pid="$(running_pid)"; then
		if [[ $mode == kill ]]; then
			say "killing broker (pid $pid) with SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
		else
			say "stopping broker (pid $pid), keeping its data"
			stop_pid "$pid" 20
		fi
	fi
	rm -f "$PIDFILE"
	# The same ports must be free again; a client reconnecting does not hold them.
	local bport cport i
	bport="$(broker_port)"
	cport="$(controller_port)"
	for ((i = 0; i < 100; i++)); do
		port_in_use "$bport" || port_in_use "$cport" || break
		sleep 0.1
	done
	port_in_use "$bport" && die "port $bport is still taken by another process; cannot restart on it"
	ensure_java
	launch
	wait_ready "$LAUNCHED_PID" "$LAUNCH_LOG_OFFSET"
	echo "127.0.0.1:$bport" >"$ADDRFILE"
	say "restarted in $((SECONDS - start))s (pid $LAUNCHED_PID)"
	print_address
}

cmd_tool() {
	(($# >= 1)) || die "usage: $0 tool CLASS ARGS..."
	[[ -f "$MARKER" ]] || fetch_jars
	[[ -f "$STATE/tools-log4j2.properties" ]] || write_log4j "$STATE" "$SERVER_LOG"
	java_tool "$@"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart-broker) shift; cmd_restart_broker "$@" ;;
tool) shift; cmd_tool "$@" ;;
fetch) ensure_java; fetch_jars; echo "$LIBS" ;;
*)
	echo "usage: $0 start|stop|status|restart-broker [--kill]|tool CLASS ARGS...|fetch" >&2
	exit 2
	;;
esac
