// Package demo runs the whole produce -> score -> consume story against a
// broker, for `streamscore demo` and make demo: it creates fresh topics,
// writes a backlog of sample events (a few malformed on purpose), starts the
// scorer, measures how fast it drains the backlog, produces live events at a
// fixed rate and measures event-to-score latency, reads the scored and
// dead-letter topics back, and prints a sample and a summary.
//
// The caller passes the scorer and the producer, so the demo runs exactly
// what `run` and `produce` run. It imports config, consumers, pipeline,
// schemas and internal/sample.
package demo
