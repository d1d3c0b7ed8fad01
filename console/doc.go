// Package console serves the operator's live view of a running scorer: an
// HTML page at / (embedded assets, no network access needed) and the JSON it
// polls at /api/status, which scripts can read too.
//
// Everything the console shows comes from the process's own Prometheus
// gatherer (throughput, batches, latency, lag, dead letters, models, drift,
// feature cache) plus a readiness function, so it depends on metric names,
// not on the packages that export them. A metric that is absent (a feature
// that is off) leaves its section empty.
//
// It imports only the Prometheus client; nothing in streamscore imports it
// but cmd.
package console
