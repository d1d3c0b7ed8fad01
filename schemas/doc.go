// Package schemas is the leaf of streamscore: the event schema spec (YAML),
// its Arrow layout, the JSON decoder that fills Arrow builders from raw Kafka
// values, the scored-event encoder, and the record types every other package
// shares (Message, Span, DeadLetter).
//
// It imports no other streamscore package.
package schemas
