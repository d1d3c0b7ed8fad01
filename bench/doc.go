// Package bench holds streamscore's benchmarks: go test micro-benchmarks of
// each stage of the hot path on the standard workload's events (this
// package), the end-to-end harness (cmd/harness, run by `make bench`), the
// kafka-go pass-through it measures against (cmd/passthrough), the Python
// peers (peers/), the load machinery they share (load), and the soak test
// (`make soak`).
//
//	go test -run '^$' -bench . -count 6 ./bench | benchstat -
//
// Inference needs ONNXRUNTIME_LIB and publishing STREAMSCORE_BROKERS (both
// set by `make up && source .run/env`); without them those benchmarks skip.
// Enrichment has its own benchmark beside the code it measures, against a
// local redis-server: BenchmarkEnrich in pipeline/features.
//
// Nothing imports bench.
package bench
