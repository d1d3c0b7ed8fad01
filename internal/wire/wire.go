package wire

import (
	"context"
	"fmt"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
)

// Encoding is how produce writes its lines: a value format, and for the
// binary ones the event schema whose registry section finds the writer
// schema, the writer schema id and the Protobuf message name.
type Encoding struct {
	Format   string
	Schema   string
	SchemaID int
	Message  string
}

// LoadSpec loads the event schema at path and attaches its registry
// section; the returned function closes the registry client.
func LoadSpec(path string) (*schemas.Spec, func(), error) {
	spec, err := schemas.Load(path)
	if err != nil {
		return nil, nil, err
	}
	closeReg, err := registry.Attach(spec)
	if err != nil {
		return nil, nil, err
	}
	return spec, closeReg, nil
}

// Encoder returns the line encoder e asks for (nil for JSON) and a function
// that closes the registry it reads. The errors name the flags to fix.
func (e Encoding) Encoder(ctx context.Context) (func([]byte) ([]byte, error), func(), error) {
	f := schemas.Format(e.Format)
	switch {
	case f == schemas.FormatJSON:
		return nil, func() {}, nil
	case !f.Binary():
		return nil, nil, fmt.Errorf("--format: %q is not json, avro or protobuf", e.Format)
	case e.Schema == "" || e.SchemaID <= 0:
		return nil, nil, fmt.Errorf("--format %s needs --schema FILE (its registry section finds the writer schema) and --schema-id N", e.Format)
	}
	spec, closeReg, err := LoadSpec(e.Schema)
	if err != nil {
		return nil, nil, err
	}
	enc, err := schemas.NewWireEncoder(ctx, spec.SchemaSource(), f, e.SchemaID, e.Message)
	if err != nil {
		closeReg()
		return nil, nil, fmt.Errorf("--schema-id %d: %w", e.SchemaID, err)
	}
	return func(line []byte) ([]byte, error) { return enc.Encode(nil, line) }, closeReg, nil
}

// Renderer returns the JSON renderer of the binary topic the event schema
// at schemaPath describes, and a function that closes its registry; nil
// without a schema or for a JSON one. A value it cannot render is printed
// as an error object naming why.
func Renderer(schemaPath string) (func(context.Context, []byte) []byte, func(), error) {
	if schemaPath == "" {
		return nil, func() {}, nil
	}
	spec, closeReg, err := LoadSpec(schemaPath)
	if err != nil {
		return nil, nil, err
	}
	if !spec.Format.Binary() {
		closeReg()
		return nil, func() {}, nil
	}
	return schemas.NewWireJSON(spec.SchemaSource()).Render, closeReg, nil
}
