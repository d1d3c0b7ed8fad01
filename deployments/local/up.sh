#!/usr/bin/env bash
# up.sh: fetch ONNX Runtime, start Kafka and Redis, and write $STREAMSCORE_RUN/env
# (default .run/env), which exports:
#   STREAMSCORE_BROKERS       127.0.0.1:PORT of the Kafka broker
#   STREAMSCORE_REDIS         127.0.0.1:PORT of redis-server
#   ONNXRUNTIME_LIB           absolute path of libonnxruntime.so.1
#   STREAMSCORE_KAFKA_SCRIPT  absolute path of kafka.sh (tests run "$STREAMSCORE_KAFKA_SCRIPT
#                             restart-broker" to restart the broker mid-stream)
#   STREAMSCORE_RUN, STREAMSCORE_CACHE  the state and download folders used
# Use it with: source .run/env. Services already running are reused. down.sh stops them.
set -euo pipefail

LOG_NAME=up
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ort="$("$LOCAL_DIR/onnxruntime.sh")"
"$LOCAL_DIR/kafka.sh" start >/dev/null
"$LOCAL_DIR/redis.sh" start >/dev/null
brokers="$(<"$STREAMSCORE_RUN/kafka/address")"
redis="$(<"$STREAMSCORE_RUN/redis/address")"

env_file="$STREAMSCORE_RUN/env"
cat >"$env_file.tmp" <<ENV
# Written by deployments/local/up.sh; source it.
export STREAMSCORE_BROKERS=$brokers
export STREAMSCORE_REDIS=$redis
export ONNXRUNTIME_LIB=$ort
export STREAMSCORE_KAFKA_SCRIPT=$LOCAL_DIR/kafka.sh
# Where the scripts keep state and downloads, so kafka.sh finds this broker.
export STREAMSCORE_RUN=$STREAMSCORE_RUN
export STREAMSCORE_CACHE=$STREAMSCORE_CACHE
ENV
mv -f "$env_file.tmp" "$env_file"

echo "kafka: listening on $brokers"
echo "redis: listening on $redis"
echo "onnxruntime: $ort"
echo "env: source $env_file"
