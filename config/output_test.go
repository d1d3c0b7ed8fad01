package config

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

func TestOutputFormatErrorsNameTheKey(t *testing.T) {
	t.Setenv("STREAMSCORE_BROKERS", "")
	t.Setenv("STREAMSCORE_REDIS", "")
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad format", "topics: {output_format: xml}\n", "topics.output_format"},
		{"id without avro", "topics: {output_schema_id: 3}\n", "topics.output_schema_id"},
		{"registry without avro", "topics: {output_registry: {url: http://127.0.0.1:1}}\n", "topics.output_registry"},
		{"negative id", "topics: {output_format: avro, output_schema_id: -1}\n", "topics.output_schema_id"},
		{"bad registry url", "topics: {output_format: avro, output_registry: {url: ftp://x}}\n", "topics.output_registry.url"},
		{"registry without url", "topics: {output_format: avro, output_registry: {username: u}}\n", "topics.output_registry"},
		{"cert without key", "topics: {output_format: avro, output_registry: {url: http://x, cert_file: c.pem}}\n", "topics.output_registry.cert_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(p, []byte("schema: s.yaml\nmodel: {path: m.onnx}\n"+tc.yaml), 0o644)
			cfg, err := Load(p)
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

const outputSpec = `
name: pay
id: id
features: [{name: a}]
model: {input: x, outputs: [{name: score}]}
`

// frameID encodes one scored event with enc and returns its schema id.
func frameID(t *testing.T, spec *schemas.Spec, enc schemas.EventEncoder) int {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := []schemas.Message{{Value: []byte(`{"id":"e1","a":1}`), Time: time.UnixMilli(1)}}
	dec := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer dec.Release()
	b := &schemas.ScoredBatch{Msgs: msgs, Decoded: dec, Scores: []schemas.Scores{{Name: "score", Width: 1, Bits: 32, Values: []float64{0.5}}}}
	id, _, err := schemas.ParseFrame(enc.Append(nil, b, 0))
	if err != nil {
		t.Fatalf("not a framed event: %v", err)
	}
	return id
}

func TestOutputEncoder(t *testing.T) {
	spec, err := schemas.Parse([]byte(outputSpec))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	cfg := Default()
	if enc, err := cfg.OutputEncoder(ctx, spec); err != nil {
		t.Fatal(err)
	} else if _, ok := enc.(*schemas.Encoder); !ok {
		t.Fatalf("default encoder is %T, want the JSON encoder", enc)
	}

	cfg.Topics.OutputFormat = schemas.OutputAvro
	if _, err := cfg.OutputEncoder(ctx, spec); err == nil || !strings.Contains(err.Error(), "topics.output_schema_id") {
		t.Fatalf("avro without an id or a registry: got %v, want an error naming topics.output_schema_id", err)
	}

	cfg.Topics.OutputSchemaID = 41
	enc, err := cfg.OutputEncoder(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if id := frameID(t, spec, enc); id != 41 {
		t.Fatalf("events carry schema id %d, want topics.output_schema_id 41", id)
	}

	// With a registry, the schema is registered under <output>-value and
	// events carry the id it answers.
	var subject, schema string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/subjects/") || !strings.HasSuffix(r.URL.Path, "/versions") {
			http.Error(w, `{"error_code":404,"message":"no"}`, http.StatusNotFound)
			return
		}
		subject = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/subjects/"), "/versions")
		body, _ := io.ReadAll(r.Body)
		var req struct{ Schema string }
		json.Unmarshal(body, &req)
		schema = req.Schema
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		io.WriteString(w, `{"id":7}`)
	}))
	defer srv.Close()
	cfg.Topics.OutputSchemaID = 0
	cfg.Topics.Output = "scored.pay"
	cfg.Topics.OutputRegistry.URL = srv.URL
	if enc, err = cfg.OutputEncoder(ctx, spec); err != nil {
		t.Fatal(err)
	}
	want, _ := schemas.ScoredAvroSchema(spec)
	if subject != "scored.pay-value" || schema != want {
		t.Fatalf("registered %q under %q, want the scored-event schema under scored.pay-value", schema, subject)
	}
	if id := frameID(t, spec, enc); id != 7 {
		t.Fatalf("events carry schema id %d, want the registry's 7", id)
	}

	// A registry that refuses says so at start.
	cfg.Topics.OutputRegistry.URL = srv.URL + "/nowhere"
	if _, err := cfg.OutputEncoder(ctx, spec); err == nil || !strings.Contains(err.Error(), "scored.pay-value") {
		t.Fatalf("refused registration: got %v, want an error naming the subject", err)
	}
}
