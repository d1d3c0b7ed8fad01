package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
)

// wireFlags are produce's and consume's flags for Avro and Protobuf topics.
type wireFlags struct {
	format   string
	schema   string
	schemaID int
	message  string
}

func (w *wireFlags) register(cmd *cobra.Command, produce bool) {
	if produce {
		cmd.Flags().StringVar(&w.format, "format", "json", "value format to write: json, avro or protobuf (Confluent wire format; needs --schema and --schema-id)")
		cmd.Flags().IntVar(&w.schemaID, "schema-id", 0, "writer schema id written into each record (with --format avro|protobuf)")
		cmd.Flags().StringVar(&w.message, "message", "", "Protobuf message name to write (default: the schema's first message)")
		cmd.Flags().StringVar(&w.schema, "schema", "", "event schema YAML whose registry section finds writer schemas (with --format avro|protobuf)")
		return
	}
	cmd.Flags().StringVar(&w.schema, "schema", "", "event schema YAML of an avro or protobuf topic: print its values decoded as JSON")
}

// spec loads --schema with its registry attached.
func (w *wireFlags) spec() (*schemas.Spec, func(), error) {
	spec, err := schemas.Load(w.schema)
	if err != nil {
		return nil, nil, err
	}
	closeReg, err := registry.Attach(spec)
	if err != nil {
		return nil, nil, err
	}
	return spec, closeReg, nil
}

// encoder returns the line encoder --format asks for; nil for JSON.
func (w *wireFlags) encoder(ctx context.Context) (func([]byte) ([]byte, error), func(), error) {
	f := schemas.Format(w.format)
	switch {
	case f == schemas.FormatJSON:
		return nil, func() {}, nil
	case !f.Binary():
		return nil, nil, fmt.Errorf("--format: %q is not json, avro or protobuf", w.format)
	case w.schema == "" || w.schemaID <= 0:
		return nil, nil, fmt.Errorf("--format %s needs --schema FILE (its registry section finds the writer schema) and --schema-id N", w.format)
	}
	spec, closeReg, err := w.spec()
	if err != nil {
		return nil, nil, err
	}
	enc, err := schemas.NewWireEncoder(ctx, spec.SchemaSource(), f, w.schemaID, w.message)
	if err != nil {
		closeReg()
		return nil, nil, fmt.Errorf("--schema-id %d: %w", w.schemaID, err)
	}
	return func(line []byte) ([]byte, error) { return enc.Encode(nil, line) }, closeReg, nil
}

// renderer returns the JSON renderer of --schema's binary topic; nil
// without --schema or for a JSON schema. A value it cannot render is
// printed as an error object naming why.
func (w *wireFlags) renderer() (func(context.Context, []byte) []byte, func(), error) {
	if w.schema == "" {
		return nil, func() {}, nil
	}
	spec, closeReg, err := w.spec()
	if err != nil {
		return nil, nil, err
	}
	if !spec.Format.Binary() {
		closeReg()
		return nil, func() {}, nil
	}
	return schemas.NewWireJSON(spec.SchemaSource()).Render, closeReg, nil
}
