package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// typedFixtures are the models of testdata/models/typed, made by
// make_models.py --typed, each with its schema and Python onnxruntime's
// outputs for events.jsonl.
var typedFixtures = []string{"df_pipeline", "rf_zipmap", "rf_nozipmap", "lgbm_clf", "lgbm_reg", "xgb_clf", "xgb_reg", "embedding", "torch_two_input"}

// typedTolerance is the largest difference allowed between a score and
// Python onnxruntime's: every fixture's inputs are float32 (or integers and
// strings), so the runtimes compute the same float32 arithmetic.
const typedTolerance = 1e-6

func typedPath(name string) string { return filepath.Join(modelsDir, "typed", name) }

// expectedOutputs is a <model>.expected.json file.
type expectedOutputs struct {
	IDs     []string                     `json:"ids"`
	Outputs map[string][]json.RawMessage `json:"outputs"`
}

func readExpected(tb testing.TB, name string) expectedOutputs {
	tb.Helper()
	b, err := os.ReadFile(typedPath(name + ".expected.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var e expectedOutputs
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatal(err)
	}
	return e
}

func readTypedEvents(tb testing.TB) []schemas.Message {
	tb.Helper()
	f, err := os.Open(typedPath("events.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var msgs []schemas.Message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		msgs = append(msgs, schemas.Message{Value: bytes.Clone(sc.Bytes())})
	}
	return msgs
}

// CompareOutput checks one output's row against Python's value: a number,
// a string, an array of numbers, or a {"class": p} object.
func compareOutput(o Output, row int, want json.RawMessage, maxDiff *float64) error {
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	switch w := w.(type) {
	case string:
		if o.Strings == nil || o.Strings[row*o.Width] != w {
			return fmt.Errorf("got %v, want %q", rowValue(o, row), w)
		}
		if len(o.Values) != len(o.Strings) || !math.IsNaN(o.Values[row*o.Width]) {
			return fmt.Errorf("a string output's Values hold %d values (%v), want NaN for each of %d strings", len(o.Values), rowValue(o, row), len(o.Strings))
		}
	case float64:
		*maxDiff = max(*maxDiff, math.Abs(o.Values[row*o.Width]-w))
		if got := o.Values[row*o.Width]; math.Abs(got-w) > typedTolerance {
			return fmt.Errorf("got %v, want %v", got, w)
		}
	case []any:
		if len(w) != o.Width {
			return fmt.Errorf("got %d values, want %d", o.Width, len(w))
		}
		for k, v := range w {
			*maxDiff = max(*maxDiff, math.Abs(o.Values[row*o.Width+k]-v.(float64)))
			if got := o.Values[row*o.Width+k]; math.Abs(got-v.(float64)) > typedTolerance {
				return fmt.Errorf("value %d: got %v, want %v", k, got, v)
			}
		}
	case map[string]any:
		if len(w) != len(o.Keys) {
			return fmt.Errorf("got keys %v, want %v", o.Keys, w)
		}
		for k, key := range o.Keys {
			v, ok := w[key]
			if !ok {
				return fmt.Errorf("got key %q, want keys %v", key, w)
			}
			*maxDiff = max(*maxDiff, math.Abs(o.Values[row*o.Width+k]-v.(float64)))
			if got := o.Values[row*o.Width+k]; math.Abs(got-v.(float64)) > typedTolerance {
				return fmt.Errorf("class %q: got %v, want %v", key, got, v)
			}
		}
	default:
		return fmt.Errorf("unexpected expected value %s", want)
	}
	return nil
}

func rowValue(o Output, row int) any {
	if o.Strings != nil {
		return o.Strings[row*o.Width : (row+1)*o.Width]
	}
	return o.Values[row*o.Width : (row+1)*o.Width]
}

// TestTypedFixtures decodes the fixture events with each fixture's schema,
// scores them with the typed binding (or the single-input fast path), and
// compares every output with Python onnxruntime's.
func TestTypedFixtures(t *testing.T) {
	requireRuntime(t)
	msgs := readTypedEvents(t)
	for _, name := range typedFixtures {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(typedPath(name + ".onnx")); err != nil {
				t.Skipf("fixture not built (its framework was not installed when make_models.py --typed ran): %v", err)
			}
			spec, err := schemas.Load(typedPath(name + ".schema.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dec := schemas.NewDecoder(spec, mem)
			d := dec.Decode(msgs)
			defer d.Release()
			if len(d.Errors) > 0 {
				t.Fatalf("%d events did not decode, first %v", len(d.Errors), d.Errors[0])
			}
			var outNames []string
			for _, o := range spec.Model.Outputs {
				outNames = append(outNames, o.Name)
			}
			m := openModel(t, Config{Path: typedPath(name + ".onnx"), Outputs: outNames})
			rows := int(d.Record.NumRows())
			var outs []Output
			if spec.Typed() {
				if err := m.Bind(spec, outNames); err != nil {
					t.Fatal(err)
				}
				outs, err = m.ScoreBatch(context.Background(), schemas.ScoreInput{Features: d.Features(), Rows: rows, Cols: spec.Columns(), Columns: d.Record})
			} else {
				if err := m.Check(spec.Model.Input, spec.Columns(), outNames); err != nil {
					t.Fatal(err)
				}
				outs, err = m.Score(context.Background(), d.Features(), rows, spec.Columns())
			}
			if err != nil {
				t.Fatal(err)
			}
			want := readExpected(t, name)
			if len(want.IDs) != rows {
				t.Fatalf("scored %d rows, Python %d", rows, len(want.IDs))
			}
			for _, o := range outs {
				exp, ok := want.Outputs[o.Name]
				if !ok {
					t.Fatalf("output %q is not in the expected file", o.Name)
				}
				bad, maxDiff := 0, 0.0
				for r := range rows {
					if err := compareOutput(o, r, exp[r], &maxDiff); err != nil {
						if bad++; bad <= 3 {
							t.Errorf("output %s row %d: %v", o.Name, r, err)
						}
					}
				}
				t.Logf("output %s: %d rows, largest difference from Python onnxruntime %.3g", o.Name, rows, maxDiff)
			}
		})
	}
}

// TestFeedsErrors checks that a schema whose features do not match the
// model's inputs is refused with a message naming what does not match.
func TestFeedsErrors(t *testing.T) {
	requireRuntime(t)
	m := openModel(t, Config{Path: typedPath("df_pipeline.onnx")})
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unmatched by name", `
features: [{name: amount}, {name: n_items, type: int64}, {name: country_code, type: string}, {name: device, type: string}]
model: {outputs: [{name: output_label}]}`, []string{"country (string [?, 1])", "features matching no input: country_code", "model.inputs"}},
		{"string into number", `
features: [{name: amount}, {name: n_items, type: int64}, {name: country, type: string}, {name: device, type: string}]
model:
  inputs:
    - {name: amount, features: [amount]}
    - {name: n_items, features: [n_items]}
    - {name: country, features: [amount]}
    - {name: device, features: [device]}
  outputs: [{name: output_label}]`, []string{`input country (string [?, 1]): feature "amount" is float32`}},
		{"too wide and unbound", `
features: [{name: amount}, {name: n_items, type: int64}, {name: country, type: string}]
model:
  inputs:
    - {name: amount, features: [amount, n_items]}
    - {name: country, features: [country]}
  outputs: [{name: output_label}]`, []string{"takes 1 values per row", "input n_items (int64 [?, 1]): no feature is bound", "input device (string [?, 1]): no feature is bound"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := schemas.Parse([]byte("name: t\nid: id\n" + tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Feeds(spec)
			if err == nil {
				t.Fatal("Feeds accepted a schema that does not fit")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
		})
	}
}

// TestStarterSchemaFits writes a starting schema for every fixture and
// checks that it parses and that the model accepts it.
func TestStarterSchemaFits(t *testing.T) {
	requireRuntime(t)
	for _, name := range typedFixtures {
		t.Run(name, func(t *testing.T) {
			path := typedPath(name + ".onnx")
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			m := openModel(t, Config{Path: path})
			text, err := StarterSchema(path, m.Inputs(), m.Outputs())
			if err != nil {
				t.Fatal(err)
			}
			spec, err := schemas.Parse([]byte(text))
			if err != nil {
				t.Fatalf("the starting schema does not parse: %v\n%s", err, text)
			}
			var outs []string
			for _, o := range spec.Model.Outputs {
				outs = append(outs, o.Name)
			}
			if len(outs) != len(m.Outputs()) {
				t.Errorf("the schema lists %d outputs, the model has %d", len(outs), len(m.Outputs()))
			}
			if spec.Typed() {
				err = m.Bind(spec, outs)
			} else {
				err = m.Check(spec.Model.Input, spec.Columns(), outs)
			}
			if err != nil {
				t.Fatalf("the model refuses its starting schema: %v\n%s", err, text)
			}
		})
	}
}

// TestTooNewModelsAreExplained opens a model stamped with an IR version
// newer than ONNX Runtime reads, and checks that the error names the
// converter options that lower it.
func TestTooNewModelsAreExplained(t *testing.T) {
	requireRuntime(t)
	b, err := os.ReadFile(typedPath("embedding.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// ir_version is field 1, a varint, first in the files onnx writes.
	if b[0] != 0x08 || b[1] >= 0x80 {
		t.Fatalf("the model does not start with a one-byte ir_version field: % x", b[:2])
	}
	b = append([]byte(nil), b...)
	b[1] = 99
	path := filepath.Join(t.TempDir(), "new.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Path: path})
	if err == nil {
		t.Fatal("Open accepted the model")
	}
	for _, w := range []string{"IR version 99 is newer", "target_opset=17", "opset_version=17", "model.ir_version = "} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not say %q", err, w)
		}
	}
}
