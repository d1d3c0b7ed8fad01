# streamscore: build, test and run against real Kafka, Redis and ONNX Runtime.
#
#   make test    vet, unit tests, then integration tests against a real broker and Redis
#   make chaos-eos  the exactly-once tests on request: kill -9 at full size, a broker restart, latency beside at_least_once
#   make demo    build and run the demo against local services
#   make up      start Kafka and Redis and write .run/env (source it); make down stops them
#
# Services come from deployments/local/ (see the scripts there). Targets that need them
# go through deployments/local/with-services.sh, which starts what is not running,
# exports .run/env, runs the command and stops what it started.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
LOCAL := deployments/local
WITH_SERVICES := $(LOCAL)/with-services.sh
INTEGRATION_TIMEOUT ?= 20m
# Fuzzing budgets are execution counts, not durations: with a duration, Go 1.26's
# fuzz coordinator can report a spurious "context deadline exceeded" when time runs
# out on a loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 3000000x
# FuzzAvroRecords writes a file per input and runs slowly under the fuzzer (tens to
# hundreds of executions a second), so it gets a count of its own.
FUZZTIME_OCF ?= 100000x
SOAK_TIMEOUT ?= 2h
# CHAOS_DURATION is how long make chaos injects faults (make test runs 30s).
CHAOS_DURATION ?= 10m

.PHONY: build up down test vet test-unit test-fuzz-short test-integration test-broker-restart chaos chaos-eos demo bench soak fuzz models clean

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/streamscore ./cmd/streamscore

up:
	$(LOCAL)/up.sh

down:
	$(LOCAL)/down.sh

# test runs everything with the services up; they are stopped afterwards unless they
# were already running (make up). test-integration builds with the integration tag,
# which adds files and removes none, so it runs every unit test as well: make test
# does not run test-unit separately (that ran each unit test twice).
test:
	$(WITH_SERVICES) $(MAKE) --no-print-directory vet test-fuzz-short test-integration test-broker-restart

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

# test-unit needs no services: the unit tests alone, for a machine without Kafka or Redis.
test-unit:
	$(GO) test -race -count=1 ./...

# test-integration runs the unit and the integration tests together, in three
# processes at once (see deployments/local/integration.sh). It needs the variables
# of .run/env: run it through make test, or after make up with .run/env sourced.
test-integration:
	GO=$(GO) INTEGRATION_TIMEOUT=$(INTEGRATION_TIMEOUT) $(LOCAL)/integration.sh

# test-broker-restart runs, alone, the integration tests that restart the shared broker
# (named TestBrokerRestart*; they skip unless STREAMSCORE_ALLOW_BROKER_RESTART=1), so
# that no other package's tests run while the broker is down. -v prints the recovery
# times, duplicate counts and the chaos run's schedule and accounting. The chaos run
# lasts TEST_CHAOS_DURATION here (a few faults); make chaos runs the long one.
TEST_CHAOS_DURATION ?= 30s
test-broker-restart:
	@test -n "$${STREAMSCORE_KAFKA_SCRIPT:-}" || { echo "test-broker-restart: STREAMSCORE_KAFKA_SCRIPT is not set; run 'make test', or 'make up && source .run/env' first" >&2; exit 1; }
	STREAMSCORE_ALLOW_BROKER_RESTART=1 STREAMSCORE_CHAOS_DURATION=$(TEST_CHAOS_DURATION) \
		$(GO) test -race -count=1 -v -tags integration -timeout $(INTEGRATION_TIMEOUT) -run '^TestBrokerRestart' ./cmd/...

# chaos runs the chaos test alone for CHAOS_DURATION: a random, printed schedule of
# kill -9 of run, broker restarts, Redis restarts and poison records over a live feed,
# then the accounting of every input.
chaos:
	$(WITH_SERVICES) env STREAMSCORE_ALLOW_BROKER_RESTART=1 STREAMSCORE_CHAOS_DURATION=$(CHAOS_DURATION) \
		$(GO) test -count=1 -v -tags integration -timeout 2h -run '^TestBrokerRestartChaos$$' ./cmd/streamscore

# chaos-eos runs the exactly-once tests that make test leaves out: the kill test at
# full size (100,000 events, 10 kill -9 of run at random moments; make test runs it at
# 20,000 events and 3 kills), where a read_committed reader must see each event exactly
# once in scored ∪ DLQ; a broker restart mid-stream (over a minute here, most of it the
# broker's own restart), where each input record must have exactly one committed
# outcome; and the end-to-end p50/p99 of exactly_once beside at_least_once.
EOS_EVENTS ?= 100000
EOS_KILLS ?= 10
chaos-eos:
	$(WITH_SERVICES) env STREAMSCORE_EOS_EVENTS=$(EOS_EVENTS) STREAMSCORE_EOS_KILLS=$(EOS_KILLS) \
		STREAMSCORE_ALLOW_BROKER_RESTART=1 STREAMSCORE_EOS_BROKER_RESTART=1 STREAMSCORE_EOS_LATENCY=1 \
		$(GO) test -count=1 -v -tags integration -timeout 30m \
		-run '^(TestExactlyOnceSurvivesKill9|TestExactlyOnceBrokerRestart|TestExactlyOnceLatency)$$' ./cmd/streamscore

demo:
	$(WITH_SERVICES) bash -c '$(MAKE) --no-print-directory build && bin/streamscore demo --brokers "$$STREAMSCORE_BROKERS"'

# The harness's sections (go run ./bench/cmd/harness --help): the standard
# workload, at_least_once beside exactly_once, and JSON/Avro/Protobuf.
BENCH_SECTIONS ?= standard,delivery,formats

bench:
	$(WITH_SERVICES) env STREAMSCORE_HARNESS_TEST=1 $(GO) test -count=1 -tags integration -run '^TestDeliveryAndFormatsSections$$' ./bench/cmd/harness
	$(WITH_SERVICES) $(GO) run ./bench/cmd/harness --sections $(BENCH_SECTIONS)
	$(GO) test -run '^$$' -bench Enrich -benchmem -count 6 ./pipeline/features

soak:
	$(WITH_SERVICES) $(GO) test -count=1 -tags 'integration soak' -run '^TestSoak' -timeout $(SOAK_TIMEOUT) ./...

# fuzz runs each decoder fuzz target for FUZZTIME executions; test-fuzz-short is
# the quick pass make test runs.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzAppendString$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzEncodeUTF8$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzFastFloat$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeAvro$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeProtobuf$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzWireJSON$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeTypedAvro$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeTypedProtobuf$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./schemas
	$(GO) test -run='^$$' -fuzz='^FuzzAvroRecords$$' -fuzztime=$(FUZZTIME_OCF) -fuzzminimizetime=5s ./pipeline/rowfile

test-fuzz-short:
	$(MAKE) --no-print-directory fuzz FUZZTIME=15000x FUZZTIME_OCF=300x

models:
	py="$$($(LOCAL)/python.sh)" && "$$py" testdata/models/make_models.py

clean:
	rm -rf bin
