package schemas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/hamba/avro/v2"

	"github.com/streamscore/streamscore/schemas"
)

// avroOutSpec is testSpec with outputs of every shape a model gives: a
// float32 number, a float64 vector, a string label, a ZipMap, labels.
const avroOutSpec = `
name: payments
version: "1"
id: id
key: user
event_time: ts
features:
  - {name: f32}
  - {name: f64, type: float64, default: 1.5}
passthrough: [merchant, meta, n, ok]
model:
  input: x
  outputs: [{name: score}, {name: probs}, {name: label}, {name: zip, as: classes}, {name: labels}, {name: absent}]
`

func avroOutMsgs() []schemas.Message {
	return []schemas.Message{
		{Topic: "payments", Partition: 3, Offset: 100, Time: time.UnixMilli(1732462400010),
			Value: []byte(`{"id":"a","user":"u1","ts":1732462400000,"f32":0.5,"merchant":"m-17","meta":{"a":[1, 2]},"n":12,"ok":true}`)},
		{Topic: "payments-eu", Partition: 0, Offset: 7, Time: time.UnixMilli(1732462400012),
			Value: []byte(`{"id":42,"user":"ü \"q\"","ts":"2024-11-24T15:33:20.001Z","f32":1,"meta":null,"n":-0.125,"merchant":"\u00e9\"x"}`)},
	}
}

func avroOutScores() []schemas.Scores {
	return []schemas.Scores{
		{Name: "score", Width: 1, Bits: 32, Values: []float64{float64(float32(0.1)), math.NaN()}},
		{Name: "probs", Width: 2, Bits: 64, Values: []float64{0.1, 0.9, 1, math.Inf(1)}},
		{Name: "label", Width: 1, Strings: []string{"fraud", "ok"}, Values: []float64{math.NaN(), math.NaN()}},
		{Name: "classes", Width: 2, Bits: 32, Keys: []string{"0", "1"}, Values: []float64{float64(float32(0.3)), float64(float32(0.7)), 1, 0}},
		{Name: "labels", Width: 2, Strings: []string{"a", "b", "c", "d"}, Values: []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}},
	}
}

// encodeBoth encodes every row of the batch with the JSON and the Avro
// encoder.
func encodeBoth(t *testing.T, spec *schemas.Spec, id int) (js, av [][]byte) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := avroOutMsgs()
	dec := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer dec.Release()
	if len(dec.Errors) > 0 {
		t.Fatalf("decode errors: %v", dec.Errors)
	}
	b := &schemas.ScoredBatch{Msgs: msgs, Decoded: dec, Scores: avroOutScores(), Model: "fraud", ModelVersion: "7",
		FeaturesMissing: []bool{false, true}, ScoredAt: scoredAt}
	enc, err := schemas.NewAvroEncoder(spec, id)
	if err != nil {
		t.Fatal(err)
	}
	for row := range dec.Rows {
		js = append(js, schemas.NewEncoder(spec).Append(nil, b, row))
		av = append(av, enc.Append([]byte("prefix"), b, row)[len("prefix"):])
	}
	return js, av
}

// TestAvroScoredEventsMatchJSON encodes scored events as Avro, reads them
// back with hamba/avro and the schema ScoredAvroSchema gives, and compares
// every field with the JSON encoder's event.
func TestAvroScoredEventsMatchJSON(t *testing.T) {
	spec := parseSpec(t, avroOutSpec)
	text, err := schemas.ScoredAvroSchema(spec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := avro.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	js, av := encodeBoth(t, spec, 1234)
	for row := range js {
		t.Run(fmt.Sprint(row), func(t *testing.T) {
			id, body, err := schemas.ParseFrame(av[row])
			if err != nil || id != 1234 {
				t.Fatalf("frame: id %d, %v", id, err)
			}
			var got map[string]any
			if err := avro.Unmarshal(s, body, &got); err != nil {
				t.Fatalf("hamba/avro cannot read the event: %v", err)
			}
			var want map[string]any
			if err := json.Unmarshal(js[row], &want); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"event_id", "key", "topic", "model", "model_version", "schema"} {
				if got[k] != want[k] {
					t.Errorf("%s = %#v, JSON %#v", k, got[k], want[k])
				}
			}
			for _, k := range []string{"partition", "offset"} {
				if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
					t.Errorf("%s = %v, JSON %v", k, got[k], want[k])
				}
			}
			for _, k := range []string{"event_time", "input_ts", "scored_at"} {
				tm, ok := got[k].(time.Time)
				if !ok || float64(tm.UnixMilli()) != want[k].(float64) {
					t.Errorf("%s = %v, JSON %v", k, got[k], want[k])
				}
			}
			if fm, _ := want["features_missing"].(bool); got["features_missing"] != fm {
				t.Errorf("features_missing = %v, JSON %v", got["features_missing"], fm)
			}
			wantScores := want["scores"].(map[string]any)
			gotScores := got["scores"].(map[string]any)
			if len(gotScores) != len(wantScores)+1 || gotScores["absent"] != nil {
				t.Errorf("scores %v: want JSON's %v and absent null", gotScores, wantScores)
			}
			for k, w := range wantScores {
				if g := plain(gotScores[k]); fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("scores.%s = %v, JSON %v", k, g, w)
				}
			}
			wantPass := want["passthrough"].(map[string]any)
			gotPass := got["passthrough"].(map[string]any)
			for _, k := range spec.Passthrough {
				w := wantPass[k]
				g := plain(gotPass[k])
				if m, ok := g.(map[string]any); ok && len(m) == 1 && m["json"] != nil {
					// An object passes as its JSON text.
					var v any
					if err := json.Unmarshal([]byte(m["json"].(string)), &v); err != nil {
						t.Fatalf("passthrough.%s: JSON text %q: %v", k, m["json"], err)
					}
					g = v
				}
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("passthrough.%s = %#v, JSON %#v", k, g, w)
				}
			}
		})
	}
}

// plain turns what hamba/avro reads from a union (a map of the branch's
// name to the value) and float32s into what encoding/json gives.
func plain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, x := range v {
				switch k {
				case "float", "double", "string", "long", "boolean", "array", "map", "streamscore.JSONValue":
					return plain(x)
				}
			}
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = plain(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = plain(x)
		}
		return out
	case float32:
		// JSON writes a float32 score with the fewest digits that read back
		// as the same float32.
		var f float64
		json.Unmarshal(fmt.Appendf(nil, "%v", v), &f)
		return f
	case int64:
		return float64(v)
	}
	return v
}

// TestAvroScoredEventsReadBack renders Avro scored events as JSON the way
// `streamscore consume --schema` does: the scores are the JSON encoder's,
// byte for byte.
func TestAvroScoredEventsReadBack(t *testing.T) {
	spec := parseSpec(t, avroOutSpec)
	text, err := schemas.ScoredAvroSchema(spec)
	if err != nil {
		t.Fatal(err)
	}
	js, av := encodeBoth(t, spec, 9)
	w := schemas.NewWireJSON(mapSource{9: {ID: 9, Type: schemas.SchemaTypeAvro, Text: text}})
	for row := range js {
		got, err := w.JSON(context.Background(), av[row])
		if err != nil {
			t.Fatalf("row %d: %v", row, err)
		}
		var g, want map[string]json.RawMessage
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("row %d: rendered %s: %v", row, got, err)
		}
		if err := json.Unmarshal(js[row], &want); err != nil {
			t.Fatal(err)
		}
		for k, wv := range want {
			if k == "scores" {
				// The Avro scores carry the absent output as null.
				wv = append(bytes.TrimSuffix(wv, []byte("}")), `,"absent":null}`...)
			}
			if k == "passthrough" {
				continue
			}
			if !bytes.Equal(g[k], wv) {
				t.Errorf("row %d: %s = %s, JSON %s", row, k, g[k], wv)
			}
		}
	}
}

// TestScoredAvroSchemaNames refuses names Avro cannot carry.
func TestScoredAvroSchemaNames(t *testing.T) {
	for _, tc := range []struct{ name, spec string }{
		{"output", "name: t\nid: id\nfeatures: [{name: a}]\nmodel: {input: x, outputs: [{name: x, as: my-score}]}\n"},
		{"passthrough", "name: t\nid: id\nfeatures: [{name: a}]\npassthrough: [shop.id]\nmodel: {input: x, outputs: [{name: score}]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := schemas.ScoredAvroSchema(parseSpec(t, tc.spec)); err == nil {
				t.Fatal("no error for a name Avro cannot carry")
			}
		})
	}
}
