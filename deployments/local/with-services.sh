#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]: run a command with Kafka, Redis and ONNX Runtime up.
#
# It runs up.sh, exports the variables of $STREAMSCORE_RUN/env into the command's
# environment, runs the command from the repository root, then stops the services
# that it started itself (even when the command fails or is interrupted); services
# that were already running, say from `make up`, are left running. It exits with
# the command's exit status.
set -euo pipefail

LOG_NAME=with-services
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || die "usage: $0 CMD [ARGS...]"

started=()
"$LOCAL_DIR/kafka.sh" status >/dev/null 2>&1 || started+=(kafka)
"$LOCAL_DIR/redis.sh" status >/dev/null 2>&1 || started+=(redis)

# shellcheck disable=SC2317 # cleanup runs from the EXIT trap
cleanup() {
	local rc=$? svc
	trap - EXIT INT TERM
	for svc in "${started[@]}"; do
		"$LOCAL_DIR/$svc.sh" stop || say "stopping $svc failed"
	done
	if ((${#started[@]} == 2)); then
		rm -f "$STREAMSCORE_RUN/env"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$LOCAL_DIR/up.sh" >&2
set -a
# shellcheck source=/dev/null
source "$STREAMSCORE_RUN/env"
set +a

cd "$REPO_ROOT"
rc=0
"$@" || rc=$?
exit "$rc"
