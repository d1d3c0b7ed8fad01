// Package schemas is the leaf of streamscore: the event schema spec (YAML),
// its Arrow layout, the decoders that write a batch's Arrow columns from raw
// Kafka values (JSON, and Avro and Protobuf in the Confluent wire format,
// read by readers compiled per writer schema), the scored-event encoder, and the
// record types every other package shares (Message, Span, DeadLetter).
//
// It imports no other streamscore package but the leaf internal/yamlerr,
// which reports a schema file's problems with their places; a schema
// registry client lives in schemas/registry and plugs in through
// SchemaSource.
package schemas
