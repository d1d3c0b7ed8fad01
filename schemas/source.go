package schemas

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Schema types as a registry names them.
const (
	SchemaTypeAvro     = "AVRO"
	SchemaTypeProtobuf = "PROTOBUF"
)

// WriterSchema is the schema an event was written with, as found by its id.
type WriterSchema struct {
	ID int
	// Type is SchemaTypeAvro or SchemaTypeProtobuf.
	Type string
	// Text is an Avro schema's JSON, or a Protobuf schema's .proto source
	// when it came from a registry.
	Text string
	// Descriptors, for Protobuf, is a serialized FileDescriptorSet whose
	// last file is the schema's.
	Descriptors []byte
}

// ErrUnknownSchema says no schema has the id: events written with it are
// unknown_schema dead letters.
var ErrUnknownSchema = errors.New("unknown schema id")

// ErrUnreachable says the schema source could not be asked (a network error,
// a 5xx answer); the Registry.Unreachable policy decides what follows.
var ErrUnreachable = errors.New("schema registry unreachable")

// SchemaSource finds writer schemas by id. Implementations are safe for
// concurrent use and cache what they found; Schema blocks for at most one
// lookup's time limit.
type SchemaSource interface {
	Schema(ctx context.Context, id int) (WriterSchema, error)
}

// SetSchemaSource sets where the decoders of s find writer schemas by id,
// replacing the local files of registry.files and registry.dir that Load
// and Parse attach. Call it before building decoders.
func (s *Spec) SetSchemaSource(src SchemaSource) { s.schemas = src }

// SchemaSource returns where decoders of s find writer schemas: the source
// set with SetSchemaSource, else the spec's local schema files.
func (s *Spec) SchemaSource() SchemaSource {
	if s.schemas != nil {
		return s.schemas
	}
	return &FileSource{Files: s.Registry.Files, Dir: s.Registry.Dir}
}

// FileSource reads writer schemas from local files keyed by id: Files maps
// an id to a file; Dir holds files named <id>.avsc (Avro JSON) or <id>.desc
// (a Protobuf FileDescriptorSet). A .desc, .pb or .protoset file is a
// FileDescriptorSet; any other is Avro. It is safe for concurrent use.
type FileSource struct {
	Files map[int]string
	Dir   string

	mu    sync.Mutex
	cache map[int]WriterSchema
}

// Schema reads the file of id, or returns ErrUnknownSchema when there is none.
func (f *FileSource) Schema(_ context.Context, id int) (WriterSchema, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ws, ok := f.cache[id]; ok {
		return ws, nil
	}
	var candidates []string
	if p, ok := f.Files[id]; ok {
		candidates = append(candidates, p)
	}
	if f.Dir != "" {
		for _, ext := range []string{".avsc", ".desc"} {
			candidates = append(candidates, filepath.Join(f.Dir, strconv.Itoa(id)+ext))
		}
	}
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return WriterSchema{}, fmt.Errorf("reading schema %d: %w", id, err)
		}
		ws := WriterSchema{ID: id, Type: SchemaTypeAvro, Text: string(b)}
		switch filepath.Ext(p) {
		case ".desc", ".pb", ".protoset":
			ws = WriterSchema{ID: id, Type: SchemaTypeProtobuf, Descriptors: b}
		}
		if f.cache == nil {
			f.cache = map[int]WriterSchema{}
		}
		f.cache[id] = ws
		return ws, nil
	}
	return WriterSchema{}, fmt.Errorf("schema %d: no local file: %w", id, ErrUnknownSchema)
}
