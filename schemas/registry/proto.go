package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/streamscore/streamscore/schemas"
)

// schemaFile is the name a registry's .proto source is compiled under.
const schemaFile = "schema.proto"

// compileProto compiles a Protobuf schema's .proto source, as registries
// hold it, into a serialized FileDescriptorSet (its imports first, the
// schema's file last), which is what the decoder reads. imports holds the
// sources of the registered schemas it references, by import name; the
// standard imports (google/protobuf/*.proto) resolve too.
func compileProto(ctx context.Context, text string, imports map[string]string) ([]byte, error) {
	sources := map[string]string{schemaFile: text}
	for name, src := range imports {
		if name != schemaFile {
			sources[name] = src
		}
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(sources),
	})}
	files, err := c.Compile(ctx, schemaFile)
	if err != nil {
		return nil, fmt.Errorf("compiling the registry's .proto source: %w", err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(f protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		imports := f.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	add(files[0])
	return proto.MarshalOptions{Deterministic: true}.Marshal(set)
}

// schemaType returns a registry answer's schema type. Confluent leaves
// AVRO out, and some registries (Apicurio 2.0's ccompat API) leave every
// type out: an Avro schema is always JSON, so other text is Protobuf.
func schemaType(declared, text string) string {
	if declared != "" {
		return strings.ToUpper(declared)
	}
	switch t := strings.TrimSpace(text); {
	case t == "", t[0] == '{', t[0] == '[', t[0] == '"':
		return schemas.SchemaTypeAvro
	}
	return schemas.SchemaTypeProtobuf
}
