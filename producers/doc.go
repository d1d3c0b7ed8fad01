// Package producers holds the Kafka sinks: Writer publishes scored events and
// dead letters with acks from all in-sync replicas, retrying until they land,
// through kafka-go's Writer or, with Requests PerBroker, one Produce request
// per broker at a time;
// Shadow writes a challenger's scored events, encoded by the engine, to the
// shadow topic, best effort (the engine's ShadowSink); FeedFile writes files of
// events to a topic (the produce command); Redrive sends dead letters back to
// their source topic (dlq redrive).
//
// It imports schemas, pipeline/rowfile (FeedFile's lines) and kafka-go, never
// the engine.
package producers
