// Package wire gives produce and consume their Avro and Protobuf topics:
// the encoder that turns JSON lines into Confluent wire-format records, and
// the renderer that prints such records as JSON, both finding writer
// schemas through the event schema's registry section.
//
// It imports schemas and schemas/registry only; only cmd imports it.
package wire
