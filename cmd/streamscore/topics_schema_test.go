package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

// TestTopicsSchema prints the scored-event schema from an event schema and
// from a configuration: both parse as Avro and are the schema the Avro
// encoder writes (schemas.ScoredAvroSchema); bad flag combinations fail
// saying what to give.
func TestTopicsSchema(t *testing.T) {
	run := func(args ...string) (string, error) {
		out, err := runCommand(newTopicsSchemaCmd(), args...)
		return string(out), err
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	schemaPath := filepath.Join(root, "testdata", "mlp.schema.yaml")
	spec := loadSpec(t, schemaPath)
	want, err := schemas.ScoredAvroSchema(spec)
	if err != nil {
		t.Fatal(err)
	}
	wantSchema, err := schemas.ParseAvro(want)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "streamscore.yaml")
	if err := os.WriteFile(cfg, []byte("brokers: [\"127.0.0.1:9092\"]\ngroup: g\ntopics: {input: in, output: out, dlq: dlq}\nschema: "+schemaPath+"\nmodel: {path: "+filepath.Join(root, "testdata", "models", "mlp.onnx")+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--schema", schemaPath}, {"--config", cfg}} {
		out, err := run(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		got, err := schemas.ParseAvro(out)
		if err != nil {
			t.Fatalf("%v: the output does not parse as Avro: %v\n%s", args, err, out)
		}
		if got.Fingerprint() != wantSchema.Fingerprint() {
			t.Fatalf("%v: printed schema differs from the encoder's:\n%s", args, out)
		}
		if !strings.Contains(out, `"name": "scores"`) {
			t.Fatalf("%v: no scores record:\n%s", args, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--config (streamscore.yaml) or --schema"},
		{[]string{"--config", cfg, "--schema", schemaPath}, "not both"},
	} {
		if out, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%v: err %v, want one that says %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
