#!/usr/bin/env bash
# up.sh: fetch ONNX Runtime, start Kafka and Redis, and write $STREAMSCORE_RUN/env
# (default .run/env), which exports:
#   STREAMSCORE_BROKERS       127.0.0.1:PORT of the Kafka broker
#   STREAMSCORE_REDIS         127.0.0.1:PORT of redis-server
#   ONNXRUNTIME_LIB           absolute path of libonnxruntime.so.1
#   STREAMSCORE_KAFKA_SCRIPT  absolute path of kafka.sh (tests run "$STREAMSCORE_KAFKA_SCRIPT
#                             restart-broker" to restart the broker mid-stream)
#   STREAMSCORE_CHROMIUM      absolute path of headless Chromium (chromium.sh installs it),
#                             for the console's browser test
#   STREAMSCORE_RUN, STREAMSCORE_CACHE  the state and download folders used
# With STREAMSCORE_JAEGER=1 it also starts Jaeger (jaeger.sh; built from its Go module the
# first time, which takes minutes) and exports:
#   STREAMSCORE_OTLP          127.0.0.1:PORT of Jaeger's OTLP gRPC receiver
#   STREAMSCORE_JAEGER_QUERY  http://127.0.0.1:PORT, Jaeger's query API and UI
# With STREAMSCORE_REGISTRY=1 it also starts Apicurio Registry (registry.sh; built with mvn
# the first time, which takes minutes) and exports:
#   STREAMSCORE_REGISTRY_URL  http://127.0.0.1:PORT/apis/ccompat/v6, its Confluent-compatible API
# Use it with: source .run/env. Services already running are reused. down.sh stops them.
set -euo pipefail

LOG_NAME=up
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ort="$("$LOCAL_DIR/onnxruntime.sh")"
"$LOCAL_DIR/kafka.sh" start >/dev/null
"$LOCAL_DIR/redis.sh" start >/dev/null
chromium="$("$LOCAL_DIR/chromium.sh")"
# The README's examples (run as written by make test) use curl and jq.
if ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
	lock tools
	command -v jq >/dev/null && command -v curl >/dev/null || apt_install jq curl
fi
jaeger_env=""
if [[ "${STREAMSCORE_JAEGER:-0}" == 1 ]]; then
	"$LOCAL_DIR/jaeger.sh" start >/dev/null
	jaeger_env="export STREAMSCORE_OTLP=127.0.0.1:$(<"$STREAMSCORE_RUN/jaeger/otlp_grpc")
export STREAMSCORE_JAEGER_QUERY=http://127.0.0.1:$(<"$STREAMSCORE_RUN/jaeger/query")"
fi
registry_env=""
if [[ "${STREAMSCORE_REGISTRY:-0}" == 1 ]]; then
	"$LOCAL_DIR/registry.sh" start >/dev/null
	registry_env="export STREAMSCORE_REGISTRY_URL=$(<"$STREAMSCORE_RUN/registry/url")"
fi
brokers="$(<"$STREAMSCORE_RUN/kafka/address")"
redis="$(<"$STREAMSCORE_RUN/redis/address")"

env_file="$STREAMSCORE_RUN/env"
cat >"$env_file.tmp" <<ENV
# Written by deployments/local/up.sh; source it.
export STREAMSCORE_BROKERS=$brokers
export STREAMSCORE_REDIS=$redis
export ONNXRUNTIME_LIB=$ort
export STREAMSCORE_KAFKA_SCRIPT=$LOCAL_DIR/kafka.sh
export STREAMSCORE_CHROMIUM=$chromium
$jaeger_env
$registry_env
# Where the scripts keep state and downloads, so kafka.sh finds this broker.
export STREAMSCORE_RUN=$STREAMSCORE_RUN
export STREAMSCORE_CACHE=$STREAMSCORE_CACHE
ENV
mv -f "$env_file.tmp" "$env_file"

echo "kafka: listening on $brokers"
echo "redis: listening on $redis"
echo "onnxruntime: $ort"
echo "chromium: $chromium"
[[ -z "$jaeger_env" ]] || "$LOCAL_DIR/jaeger.sh" status
[[ -z "$registry_env" ]] || "$LOCAL_DIR/registry.sh" status
echo "env: source $env_file"
