// Package producers holds the Kafka sinks: Writer publishes scored events and
// dead letters with acks from all in-sync replicas, retrying until they land;
// Feeder writes files of events to a topic (the produce command).
//
// It imports schemas and kafka-go, never the engine.
package producers
