// Package consumers is the Kafka source of the engine: it joins a consumer
// group, runs one reader per assigned partition, hands messages to the engine
// through a bounded channel, and commits offsets by a per-partition contiguous
// watermark once the engine acknowledges them.
//
// CheckOutputTopics is run's start-up check of the topics it writes, and
// WriteRecord how consume prints a record.
//
// It imports schemas and kafka-go, never the engine: Group satisfies the
// engine's Source interface by shape.
package consumers
