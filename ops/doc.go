// Package ops serves streamscore's operations endpoint: /metrics
// (Prometheus), /healthz and /readyz, Go's profiler when asked, the live
// console, and the routes other packages mount on the same address (the
// HTTP scoring endpoint, the model admin endpoints). `run` and `serve` start
// it on http.addr.
//
// It imports the Prometheus client and console only; the caller says what
// ready and healthy mean, and which routes to add.
package ops
