// Package service holds the process plumbing of streamscore's commands:
// the structured logger (and go-redis's, routed into it), the signal
// context that drains on the first SIGINT or SIGTERM and exits on the
// second, the operations endpoint (metrics, health, console, the models'
// routes), the readiness gate in front of the Kafka health check, the
// start-up wait for the brokers, and KafkaConn, how the commands that only
// talk to Kafka reach it (topics create and describe, dlq redrive, the
// replay's connection).
//
// It imports config, consumers, producers, pipeline/replay, console, ops
// and schemas; only cmd imports it.
package service
