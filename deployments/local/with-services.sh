#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]: run a command with Kafka, Redis and ONNX Runtime up.
#
# It runs up.sh, exports the variables of $STREAMSCORE_RUN/env into the command's
# environment, runs the command from the repository root, then stops the services
# that it started itself, also when the command fails or this script gets SIGINT,
# SIGTERM or SIGHUP (it passes the signal on to the command and waits for it first).
# Services that were already running, say from `make up`, are left running. It exits
# with the command's exit status.
set -euo pipefail

LOG_NAME=with-services
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || die "usage: $0 CMD [ARGS...]"

started=()
"$LOCAL_DIR/kafka.sh" status >/dev/null 2>&1 || started+=(kafka)
"$LOCAL_DIR/redis.sh" status >/dev/null 2>&1 || started+=(redis)
if [[ "${STREAMSCORE_JAEGER:-0}" == 1 ]]; then
	"$LOCAL_DIR/jaeger.sh" status >/dev/null 2>&1 || started+=(jaeger)
fi
if [[ "${STREAMSCORE_REGISTRY:-0}" == 1 ]]; then
	"$LOCAL_DIR/registry.sh" status >/dev/null 2>&1 || started+=(registry)
fi

child=""
# shellcheck disable=SC2317 # runs from the traps
cleanup() {
	local rc=$? svc
	trap - EXIT INT TERM HUP
	for svc in "${started[@]}"; do
		"$LOCAL_DIR/$svc.sh" stop || say "stopping $svc failed"
	done
	if ((${#started[@]} >= 2)); then
		rm -f "$STREAMSCORE_RUN/env"
	fi
	exit "$rc"
}
# shellcheck disable=SC2317 # runs from the traps
on_signal() {
	local sig="$1" code="$2"
	if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
		say "got SIG$sig; passing it to the command (pid $child) and waiting for it"
		kill "-$sig" "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	exit "$code"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

"$LOCAL_DIR/up.sh" >&2
set -a
# shellcheck source=/dev/null
source "$STREAMSCORE_RUN/env"
set +a

cd "$REPO_ROOT"
# The command runs in the background so that this script's traps fire at once; the
# subshell undoes the SIGINT/SIGQUIT ignoring that bash gives background jobs, and
# <&0 keeps this script's standard input instead of /dev/null.
( trap - INT QUIT; exec "$@" ) <&0 &
child=$!
rc=0
wait "$child" || rc=$?
child=""
exit "$rc"
