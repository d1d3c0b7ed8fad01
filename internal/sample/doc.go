// Package sample writes sample events for trying streamscore out, for the
// demo and for tests: JSONL events with an id, a user key, a time, 32 float
// features f00..f31 and a passthrough merchant field, as the schemas in
// testdata describe them, with malformed events of every dead-letter kind
// mixed in on request. The same seed gives the same events.
//
// It imports the standard library only.
package sample
