// Package conformance holds the suites every Source and every Sink of the
// engine (pipeline.Source, pipeline.Sink) must pass, whatever carries the
// records, as Watermill runs one suite for every pub/sub. An adapter's
// tests run them twice: against the in-process Kafka fake (franz-go's
// kfake) in its unit tests, and against the real broker under the
// integration build tag.
//
// The suites create their own topics (and consumer groups) with unique
// names, so they may share a broker with other tests. Every wait is
// bounded by a context deadline; none sleeps.
//
// It imports pipeline (for the interfaces), schemas and kafka-go.
package conformance
