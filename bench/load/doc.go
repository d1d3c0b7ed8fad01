// Package load is the machinery of streamscore's end-to-end benchmarks: the
// standard workload's events, a backlog writer and an open-loop producer at a
// fixed rate, a reader that turns scored events into event-to-score
// latencies (read_committed where results are transactional), throughput
// measured from a topic's end offsets or a group's committed offsets, the
// standard events in Avro and Protobuf for a backlog of them, and child
// processes (the scorer, the pass-through, the Python peers) sampled for
// resident memory and CPU time.
//
// It may import any streamscore package; nothing but bench imports it.
package load
