package wire

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const avroSchema = "../../testdata/formats/payments.avro.yaml"

func TestEncoderErrorsNameTheFlags(t *testing.T) {
	tests := []struct {
		name string
		e    Encoding
		want string
	}{
		{"unknown format", Encoding{Format: "xml"}, `--format: "xml"`},
		{"avro without schema", Encoding{Format: "avro", SchemaID: 1}, "--schema FILE"},
		{"avro without id", Encoding{Format: "avro", Schema: avroSchema}, "--schema-id N"},
		{"unknown id", Encoding{Format: "avro", Schema: avroSchema, SchemaID: 99}, "--schema-id 99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, _, err := tc.e.Encoder(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || enc != nil {
				t.Fatalf("Encoder = %v; want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestJSONNeedsNoEncoderOrRenderer(t *testing.T) {
	enc, closeEnc, err := Encoding{Format: "json"}.Encoder(t.Context())
	if err != nil || enc != nil {
		t.Fatalf("json: encoder %v, err %v; want neither", enc != nil, err)
	}
	closeEnc()
	render, closeRender, err := Renderer("")
	if err != nil || render != nil {
		t.Fatalf("no schema: renderer %v, err %v; want neither", render != nil, err)
	}
	closeRender()
	render, closeRender, err = Renderer("../../testdata/linear.schema.yaml")
	if err != nil || render != nil {
		t.Fatalf("JSON schema: renderer %v, err %v; want neither", render != nil, err)
	}
	closeRender()
}

func TestAvroRoundTrip(t *testing.T) {
	ev := map[string]any{"event_id": "e-1", "user_id": "u-7", "ts": 1700000000000, "merchant": nil}
	for i := range 32 {
		ev[fmt.Sprintf("f%02d", i)] = 0.5
	}
	line, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	enc, closeEnc, err := Encoding{Format: "avro", Schema: avroSchema, SchemaID: 1}.Encoder(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnc()
	rec, err := enc(line)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) < 5 || rec[0] != 0 || rec[4] != 1 {
		t.Fatalf("record % x: want the Confluent magic byte and schema id 1", rec[:min(len(rec), 5)])
	}
	render, closeRender, err := Renderer(avroSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRender()
	out := render(t.Context(), rec)
	if !strings.Contains(string(out), `"user_id":"u-7"`) {
		t.Fatalf("rendered %s; want the event's user_id", out)
	}
}
