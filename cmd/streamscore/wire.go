package main

import (
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/internal/wire"
)

// wireFlags are produce's and consume's flags for Avro and Protobuf topics.
type wireFlags wire.Encoding

func (w *wireFlags) register(cmd *cobra.Command, produce bool) {
	if produce {
		cmd.Flags().StringVar(&w.Format, "format", "json", "value format to write: json, avro or protobuf (Confluent wire format; needs --schema and --schema-id)")
		cmd.Flags().IntVar(&w.SchemaID, "schema-id", 0, "writer schema id written into each record (with --format avro|protobuf)")
		cmd.Flags().StringVar(&w.Message, "message", "", "Protobuf message name to write (default: the schema's first message)")
		cmd.Flags().StringVar(&w.Schema, "schema", "", "event schema YAML whose registry section finds writer schemas (with --format avro|protobuf)")
		return
	}
	cmd.Flags().StringVar(&w.Schema, "schema", "", "event schema YAML of an avro or protobuf topic: print its values decoded as JSON")
}
