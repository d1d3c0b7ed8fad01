package sample

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hamba/avro/v2/ocf"

	"github.com/streamscore/streamscore/internal/wire"
	"github.com/streamscore/streamscore/schemas"
)

// Output says how `streamscore gen` writes the events: JSONL, Avro or
// Protobuf wire-format values (each framed by wire.AppendFrame), or an Avro
// container file when the output file ends in .avro.
type Output struct {
	// Format is json, avro or protobuf.
	Format schemas.Format
	// SchemaID is the writer schema's id, written into each binary value
	// and looked up in Schema's registry section.
	SchemaID int
	// Schema is an event schema YAML whose registry section holds the
	// writer schema; for Avro it may be empty (AvroSchema is used).
	Schema string
	// Message is the Protobuf message to write (default: the first).
	Message string
	// Codec is an Avro container file's block codec: null, deflate,
	// snappy or zstandard.
	Codec string
}

// AvroContainer reports whether path names an Avro container file.
func AvroContainer(path string) bool { return strings.EqualFold(filepath.Ext(path), ".avro") }

// Validate checks o against the output path before anything is written; for
// an Avro container file it sets Format to avro. Its errors name the flag
// to fix.
func (o *Output) Validate(path string, cfg Config) error {
	switch o.Format {
	case schemas.FormatJSON, schemas.FormatAvro, schemas.FormatProtobuf:
	default:
		return fmt.Errorf("--format: %q is not json, avro or protobuf", o.Format)
	}
	if AvroContainer(path) {
		switch {
		case o.Format == schemas.FormatProtobuf:
			return fmt.Errorf("--out %s is an Avro container file: use --format avro (or json), or name a file that does not end in .avro", path)
		case cfg.BadRatio > 0:
			return errors.New("--bad-ratio: an Avro container file cannot hold malformed rows; drop --bad-ratio, or write JSONL or wire-format values")
		case !slices.Contains([]string{"null", "deflate", "snappy", "zstandard"}, o.Codec):
			return fmt.Errorf("--codec: %q is not null, deflate, snappy or zstandard", o.Codec)
		case o.Schema != "" && o.SchemaID <= 0:
			return errors.New("--schema needs --schema-id N: the id of the writer schema in its registry section")
		}
		o.Format = schemas.FormatAvro
		return nil
	}
	if !o.Format.Binary() {
		if o.Schema != "" || o.SchemaID != 0 {
			return errors.New("--schema and --schema-id go with --format avro|protobuf or --out *.avro")
		}
		return nil
	}
	if o.SchemaID <= 0 {
		return fmt.Errorf("--format %s needs --schema-id N (a positive id, written into each value)", o.Format)
	}
	if o.Format == schemas.FormatProtobuf && o.Schema == "" {
		return errors.New("--format protobuf needs --schema FILE: an event schema YAML whose registry section holds --schema-id's FileDescriptorSet")
	}
	return nil
}

// Write writes cfg's events to w as o says (path is the output file's
// name, "" for stdout) and returns how many are malformed on purpose. A
// malformed event in a binary stream is written as its JSON bytes, which a
// binary topic dead-letters as malformed.
func (o *Output) Write(ctx context.Context, w io.Writer, path string, cfg Config) (int, error) {
	if !o.Format.Binary() {
		return Write(w, cfg)
	}
	enc, text, done, err := o.encoder(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer done()
	var value []byte
	encode := func(line []byte) ([]byte, error) {
		v, err := enc.Encode(value[:0], line)
		if err != nil {
			return nil, fmt.Errorf("encoding a sample event with schema %d: %w (does the writer schema have the sample events' fields?)", o.SchemaID, err)
		}
		value = v
		return v, nil
	}
	if AvroContainer(path) {
		oe, err := ocf.NewEncoder(text, w, ocf.WithCodec(ocf.CodecName(o.Codec)))
		if err != nil {
			return 0, fmt.Errorf("writing %s: %w", path, err)
		}
		_, err = Events(cfg, func(line []byte, _ bool) error {
			v, err := encode(line)
			if err != nil {
				return err
			}
			_, body, _ := schemas.ParseFrame(v)
			_, err = oe.Write(body)
			return err
		})
		if cerr := oe.Close(); err == nil {
			err = cerr
		}
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var frame []byte
	bad, err := Events(cfg, func(line []byte, bad bool) error {
		v := line // a malformed event: its JSON bytes
		if !bad {
			var err error
			if v, err = encode(line); err != nil {
				return err
			}
		}
		frame = wire.AppendFrame(frame[:0], v)
		_, err := bw.Write(frame)
		return err
	})
	if err != nil {
		return bad, err
	}
	return bad, bw.Flush()
}

// encoder returns the wire encoder of the writer schema and its Avro text
// ("" for Protobuf), and the function that closes its registry client.
func (o *Output) encoder(ctx context.Context, cfg Config) (*schemas.WireEncoder, string, func(), error) {
	if o.Schema == "" {
		text := AvroSchema(cfg)
		enc, err := schemas.NewWireEncoder(ctx, oneSchema(text), schemas.FormatAvro, max(o.SchemaID, 1), "")
		return enc, text, func() {}, err
	}
	spec, closeReg, err := wire.LoadSpec(o.Schema)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--schema: %w", err)
	}
	ws, err := spec.SchemaSource().Schema(ctx, o.SchemaID)
	if err == nil {
		var enc *schemas.WireEncoder
		if enc, err = schemas.NewWireEncoder(ctx, spec.SchemaSource(), o.Format, o.SchemaID, o.Message); err == nil {
			return enc, ws.Text, closeReg, nil
		}
	}
	closeReg()
	return nil, "", nil, fmt.Errorf("--schema-id %d: %w", o.SchemaID, err)
}

// oneSchema is a SchemaSource holding one Avro schema under any id.
type oneSchema string

func (s oneSchema) Schema(_ context.Context, id int) (schemas.WriterSchema, error) {
	return schemas.WriterSchema{ID: id, Type: schemas.SchemaTypeAvro, Text: string(s)}, nil
}
