// Package service holds the process plumbing of streamscore's commands:
// the structured logger (and go-redis's, routed into it), the signal
// context that drains on the first SIGINT or SIGTERM and exits on the
// second, the operations endpoint (metrics, health, console, the models'
// routes), the readiness gate in front of the Kafka health check, and the
// start-up wait for the brokers.
//
// It imports config, consumers, console and ops; only cmd imports it.
package service
