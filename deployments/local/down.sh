#!/usr/bin/env bash
# down.sh: stop the Kafka broker, redis-server (and Jaeger, the registry) that up.sh started, delete their
# data and the env file. Safe to run when nothing is running.
set -euo pipefail

LOG_NAME=down
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rc=0
"$LOCAL_DIR/kafka.sh" stop || rc=$?
"$LOCAL_DIR/redis.sh" stop || rc=$?
if [[ -d "$STREAMSCORE_RUN/jaeger" ]]; then
	"$LOCAL_DIR/jaeger.sh" stop || rc=$?
fi
if [[ -d "$STREAMSCORE_RUN/registry" ]]; then
	"$LOCAL_DIR/registry.sh" stop || rc=$?
fi
rm -f "$STREAMSCORE_RUN/env"
exit "$rc"
