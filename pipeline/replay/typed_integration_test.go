//go:build integration

package replay

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

// TestReplayTypedFixturesWritesPythonsScores replays the typed fixtures'
// events through ONNX Runtime into a JSONL file and checks every output of
// every row against Python onnxruntime's (testdata/models/typed/*.expected.json)
// within 1e-6: class labels as strings, ZipMap outputs as {"class": p}
// objects, numbers as numbers.
func TestReplayTypedFixturesWritesPythonsScores(t *testing.T) {
	lib := servicetest.Env(t, "ONNXRUNTIME_LIB")
	if err := model.Init(lib); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "testdata", "models", "typed")
	for _, name := range []string{"df_pipeline", "rf_zipmap", "rf_nozipmap", "xgb_clf", "torch_two_input"} {
		t.Run(name, func(t *testing.T) {
			spec, err := schemas.Load(filepath.Join(dir, name+".schema.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			sc, err := model.OpenScorer(t.Context(), model.Config{Path: filepath.Join(dir, name+".onnx"), Name: name, Version: "1", Sessions: 1}, 8, spec)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			src, err := NewFiles([]string{filepath.Join(dir, "events.jsonl")})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "scored.jsonl")
			o, err := CreateFile(path)
			if err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			if _, err := Run(t.Context(), Config{
				Spec: spec, Source: src, Output: o, Mem: mem,
				Models: []Model{{Name: "m", Scorer: sc}}, Policy: pipeline.Policy{MaxRows: 64},
			}); err != nil {
				t.Fatal(err)
			}
			mem.AssertSize(t, 0)

			var want struct {
				IDs     []string                     `json:"ids"`
				Outputs map[string][]json.RawMessage `json:"outputs"`
			}
			raw, err := os.ReadFile(filepath.Join(dir, name+".expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n"))
			if len(lines) != len(want.IDs) {
				t.Fatalf("%d rows written, Python scored %d", len(lines), len(want.IDs))
			}
			maxDiff := 0.0
			for i, line := range lines {
				var row struct {
					ID     string                                `json:"event_id"`
					Scores map[string]map[string]json.RawMessage `json:"scores"`
				}
				if err := json.Unmarshal(line, &row); err != nil {
					t.Fatalf("row %d: %v: %s", i, err, line)
				}
				if row.ID != want.IDs[i] {
					t.Fatalf("row %d is event %s, want %s", i, row.ID, want.IDs[i])
				}
				for _, o := range spec.Model.Outputs {
					if err := sameValue(row.Scores["m"][o.As], want.Outputs[o.Name][i], &maxDiff); err != "" {
						t.Fatalf("row %d output %s: %s\n  got  %s\n  want %s", i, o.As, err, row.Scores["m"][o.As], want.Outputs[o.Name][i])
					}
				}
			}
			t.Logf("%d rows, largest difference from Python onnxruntime %.3g", len(lines), maxDiff)
		})
	}
}

// sameValue compares a written value with Python's: strings exactly,
// numbers within 1e-6, arrays and objects element by element. It returns
// what differs, or "".
func sameValue(got, want json.RawMessage, maxDiff *float64) string {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return "not JSON"
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return "expected value is not JSON"
	}
	var cmp func(g, w any) string
	cmp = func(g, w any) string {
		switch w := w.(type) {
		case string:
			if s, ok := g.(string); !ok || s != w {
				return "label differs"
			}
		case float64:
			x, ok := g.(float64)
			if !ok {
				return "not a number"
			}
			*maxDiff = max(*maxDiff, math.Abs(x-w))
			if math.Abs(x-w) > 1e-6 {
				return "number differs by more than 1e-6"
			}
		case []any:
			ga, ok := g.([]any)
			if !ok || len(ga) != len(w) {
				return "not an array of the same length"
			}
			for k := range w {
				if e := cmp(ga[k], w[k]); e != "" {
					return e
				}
			}
		case map[string]any:
			gm, ok := g.(map[string]any)
			if !ok || len(gm) != len(w) {
				return "not an object with the same classes"
			}
			for k, v := range w {
				if e := cmp(gm[k], v); e != "" {
					return "class " + k + ": " + e
				}
			}
		default:
			return "unexpected expected value"
		}
		return ""
	}
	return cmp(g, w)
}
