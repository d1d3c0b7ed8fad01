#!/usr/bin/env bash
# jaeger.sh: Jaeger (all-in-one, in-memory storage) on 127.0.0.1, receiving OTLP, for
# the tracing tests and for trying tracing by hand. It is built from its Go module
# (github.com/jaegertracing/jaeger/cmd/jaeger), fetched through the module proxy and
# built with `go build`, once, into the cache.
#
#   jaeger.sh build   build the binary if it is not cached; prints its path
#   jaeger.sh start   build if needed, start it on free ports and wait until the query
#                     API answers; prints the OTLP and query addresses. If one is already
#                     running and answering, just prints its addresses.
#   jaeger.sh stop    stop it (SIGTERM, SIGKILL after 20 s) and delete its state
#   jaeger.sh status  exit 0 and print the addresses if it answers, else exit 1
#
# State: $STREAMSCORE_RUN/jaeger/ (jaeger.pid, jaeger.log, config.yaml, otlp, query).
# JAEGER_VERSION picks the module version (default below).
set -euo pipefail

LOG_NAME=jaeger
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JAEGER_VERSION="${JAEGER_VERSION:-v1.76.0}"
BIN_DIR="$STREAMSCORE_CACHE/jaeger/$JAEGER_VERSION"
BIN="$BIN_DIR/jaeger"
STATE="$STREAMSCORE_RUN/jaeger"
PIDFILE="$STATE/jaeger.pid"
LOGFILE="$STATE/jaeger.log"
READY_TIMEOUT="${JAEGER_READY_TIMEOUT:-60}"

cmd_build() {
	if [[ -x "$BIN" ]]; then
		echo "$BIN"
		return 0
	fi
	lock jaeger-build
	if [[ ! -x "$BIN" ]]; then
		command -v go >/dev/null || die "go is not installed"
		# `go install module/cmd/jaeger@version` refuses modules whose go.mod has
		# replace directives (Jaeger's has one), so build it as the main module
		# from a copy of the module's source, fetched through the module proxy.
		say "building github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION (once; about 15 minutes of CPU, some 2000 packages)"
		local start=$SECONDS src dir
		dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
		[[ -d "$dir" ]] || die "go mod download github.com/jaegertracing/jaeger@$JAEGER_VERSION failed"
		src="$STREAMSCORE_CACHE/jaeger/src-$JAEGER_VERSION"
		rm -rf "$src"
		mkdir -p "$BIN_DIR" "$(dirname "$src")"
		cp -r "$dir" "$src"
		chmod -R u+w "$src"
		(cd "$src" && GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go build -o "$BIN" ./cmd/jaeger) >&2 ||
			die "go build ./cmd/jaeger (github.com/jaegertracing/jaeger@$JAEGER_VERSION) failed"
		rm -rf "$src"
		say "built $BIN in $((SECONDS - start))s"
	fi
	echo "$BIN"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

running_pid() { pid_alive "$PIDFILE" "$BIN"; }

print_addresses() {
	echo "jaeger: otlp grpc 127.0.0.1:$(<"$STATE/otlp_grpc") otlp http 127.0.0.1:$(<"$STATE/otlp_http") query http://127.0.0.1:$(<"$STATE/query")"
}

cmd_start() {
	cmd_build >/dev/null
	lock jaeger
	local pid
	if pid="$(running_pid)" && http_ok "http://127.0.0.1:$(<"$STATE/query")/api/services"; then
		print_addresses
		return 0
	fi
	[[ -n "${pid:-}" ]] && stop_pid "$pid" 20
	rm -rf "$STATE"
	mkdir -p "$STATE"
	local grpc http query admin
	grpc="$(free_port)"
	http="$(free_port "$grpc")"
	query="$(free_port "$grpc" "$http")"
	admin="$(free_port "$grpc" "$http" "$query")"
	cat >"$STATE/config.yaml" <<YAML
# Jaeger v2 (an OpenTelemetry Collector build): OTLP in, in-memory storage, query API.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$admin
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:$query
    grpc:
      endpoint: 127.0.0.1:0
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$grpc
      http:
        endpoint: 127.0.0.1:$http
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
YAML
	echo "$grpc" >"$STATE/otlp_grpc"
	echo "$http" >"$STATE/otlp_http"
	echo "$query" >"$STATE/query"
	local start=$SECONDS
	nohup "$BIN" --config "$STATE/config.yaml" >"$LOGFILE" 2>&1 9>&- &
	echo $! >"$PIDFILE"
	until http_ok "http://127.0.0.1:$query/api/services"; do
		if ! running_pid >/dev/null; then
			show_log "$LOGFILE"
			die "jaeger exited during start-up"
		fi
		if ((SECONDS - start > READY_TIMEOUT)); then
			show_log "$LOGFILE"
			die "jaeger did not answer on 127.0.0.1:$query within ${READY_TIMEOUT}s"
		fi
		sleep 0.2
	done
	say "started in $((SECONDS - start))s"
	print_addresses
}

cmd_stop() {
	lock jaeger
	local pid
	if pid="$(running_pid)"; then
		stop_pid "$pid" 20
	fi
	rm -rf "$STATE"
}

cmd_status() {
	running_pid >/dev/null && http_ok "http://127.0.0.1:$(<"$STATE/query")/api/services" || return 1
	print_addresses
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "usage: $0 build|start|stop|status" ;;
esac
