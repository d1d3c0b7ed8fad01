//go:build integration

package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/schemas"
)

// TestBuildScoresTypedModels builds prediction baselines with typed models
// (the DataFrame pipeline with string inputs, a forest with ZipMap) and
// checks every prediction column against the baseline built, without a
// model, from the same rows carrying Python onnxruntime's outputs
// (testdata/models/typed/*.expected.json): same rows, missing counts,
// counts per bin, bin edges and moments within 1e-6.
func TestBuildScoresTypedModels(t *testing.T) {
	lib := servicetest.Env(t, "ONNXRUNTIME_LIB")
	if err := model.Init(lib); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "testdata", "models", "typed")
	events := filepath.Join(dir, "events.jsonl")
	for _, name := range []string{"df_pipeline", "rf_zipmap"} {
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
			// A line that is not an object is skipped by both readers and
			// must not shift the rows the model scores.
			train := filepath.Join(t.TempDir(), "train.jsonl")
			raw, err := os.ReadFile(events)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(raw), "\n")
			mixed := strings.Join(lines[:50], "") + "[1, 2]\nnot json\n" + strings.Join(lines[50:], "")
			if err := os.WriteFile(train, []byte(mixed), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Build(t.Context(), BuildConfig{Spec: spec, Files: []string{train}, Bins: 8, Scorer: sc, Model: name, Events: fileEvents, Probe: model.SmokeBatch})
			if err != nil {
				t.Fatal(err)
			}
			if got.Skipped != 2 {
				t.Errorf("skipped %d rows, want 2", got.Skipped)
			}
			want := fromFile(t, spec, withPythonOutputs(t, spec, events, filepath.Join(dir, name+".expected.json")), got.Baseline)
			if got.Baseline.Rows != want.Rows || got.Baseline.Rows != 200 {
				t.Fatalf("rows: scored %d, from Python's outputs %d, want 200", got.Baseline.Rows, want.Rows)
			}
			numeric := 0
			for _, w := range want.Columns {
				if w.Source != FromOutput {
					continue
				}
				i := slices.IndexFunc(got.Baseline.Columns, func(c Column) bool { return c.Name == w.Name })
				if i < 0 {
					t.Fatalf("no prediction column %s in the scored baseline", w.Name)
				}
				g := got.Baseline.Columns[i]
				if err := sameColumn(g, w); err != "" {
					t.Errorf("prediction column %s: %s\n  scored %+v\n  python %+v", w.Name, err, g, w)
				}
				if w.Missing == 0 {
					numeric++
				}
			}
			if numeric < 2 {
				t.Errorf("%d prediction columns with values, want at least 2 (the probabilities)", numeric)
			}
			if name != "df_pipeline" {
				return
			}
			// The same rows as Parquet (which replay turns into JSON
			// objects for the decoder) give the same columns.
			pq := filepath.Join(t.TempDir(), "train.parquet")
			writeTypedParquet(t, pq, events)
			fromPq, err := Build(t.Context(), BuildConfig{Spec: spec, Files: []string{pq}, Bins: 8, Scorer: sc, Model: name, Events: fileEvents, Probe: model.SmokeBatch})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range got.Baseline.Columns {
				i := slices.IndexFunc(fromPq.Baseline.Columns, func(c Column) bool { return c.Name == w.Name })
				if i < 0 {
					t.Fatalf("no column %s in the Parquet baseline", w.Name)
				}
				if err := sameColumn(fromPq.Baseline.Columns[i], w); err != "" {
					t.Errorf("Parquet column %s: %s", w.Name, err)
				}
			}
		})
	}
}

// writeTypedParquet writes the DataFrame pipeline's fields of the JSONL
// rows of events as a Parquet file.
func writeTypedParquet(t *testing.T, path, events string) {
	t.Helper()
	raw, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "n_items", Type: arrow.PrimitiveTypes.Int64},
		{Name: "country", Type: arrow.BinaryTypes.String},
		{Name: "device", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), sch)
	defer rb.Release()
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var row struct {
			ID      string  `json:"id"`
			Amount  float64 `json:"amount"`
			NItems  int64   `json:"n_items"`
			Country string  `json:"country"`
			Device  *string `json:"device"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		rb.Field(0).(*array.StringBuilder).Append(row.ID)
		rb.Field(1).(*array.Float64Builder).Append(row.Amount)
		rb.Field(2).(*array.Int64Builder).Append(row.NItems)
		rb.Field(3).(*array.StringBuilder).Append(row.Country)
		if row.Device == nil {
			rb.Field(4).AppendNull()
		} else {
			rb.Field(4).(*array.StringBuilder).Append(*row.Device)
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	tbl := array.NewTableFromRecords(sch, []arrow.Record{rec})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pqarrow.WriteTable(tbl, f, 64, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

// fileEvents reads a training file as events with replay's file source,
// as the baseline command does.
func fileEvents(ctx context.Context, path string, out chan<- schemas.Message) error {
	src, err := replay.NewFiles([]string{path})
	if err != nil {
		close(out)
		return err
	}
	return src.Run(ctx, out)
}

// fromFile builds, as Build does without a scorer, the baseline of path
// whose rows carry the outputs, as wide as in scored.
func fromFile(t *testing.T, spec *schemas.Spec, path string, scored *Baseline) *Baseline {
	t.Helper()
	var outputs []OutputWidth
	for _, c := range scored.Columns {
		if c.Source != FromOutput {
			continue
		}
		if n := len(outputs); n > 0 && outputs[n-1].Name == c.Output {
			outputs[n-1].Width++
			continue
		}
		outputs = append(outputs, OutputWidth{Name: c.Output, Width: 1})
	}
	cols, err := PlanColumns(spec, PlanOptions{Outputs: outputs})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(cols, BuilderConfig{Bins: 8})
	if err != nil {
		t.Fatal(err)
	}
	reader := NewTrainingReader(spec, cols)
	for pass := range 2 {
		if _, err := reader.ReadFile(t.Context(), path, func(tb *TrainingBatch) error {
			if pass == 0 {
				return b.Sample(&tb.Batch)
			}
			return b.Count(&tb.Batch)
		}); err != nil {
			t.Fatal(err)
		}
		b.Freeze()
	}
	return b.Baseline(spec.String(), []string{path}, 0)
}

// withPythonOutputs writes events' rows with each output of spec added as
// the field the scored events name it, holding Python's value: a ZipMap
// row as the array of its probabilities in class order.
func withPythonOutputs(t *testing.T, spec *schemas.Spec, events, expected string) string {
	t.Helper()
	var want struct {
		Outputs map[string][]json.RawMessage `json:"outputs"`
	}
	raw, err := os.ReadFile(expected)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		for _, o := range spec.Model.Outputs {
			var v any
			if err := json.Unmarshal(want.Outputs[o.Name][i], &v); err != nil {
				t.Fatal(err)
			}
			if m, ok := v.(map[string]any); ok {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				slices.Sort(keys) // ZipMap's classes are sorted
				arr := make([]any, len(keys))
				for k, key := range keys {
					arr[k] = m[key]
				}
				v = arr
			}
			row[o.As] = v
		}
		out, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "python.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameColumn says how g differs from w, or "".
func sameColumn(g, w Column) string {
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6 }
	switch {
	case g.Kind != w.Kind:
		return fmt.Sprintf("kind %s, want %s", g.Kind, w.Kind)
	case g.Missing != w.Missing:
		return fmt.Sprintf("%d missing, want %d", g.Missing, w.Missing)
	case !slices.Equal(g.Counts, w.Counts):
		return fmt.Sprintf("counts %v, want %v", g.Counts, w.Counts)
	case !slices.Equal(g.Categories, w.Categories):
		return fmt.Sprintf("categories %v, want %v", g.Categories, w.Categories)
	case len(g.Edges) != len(w.Edges):
		return fmt.Sprintf("%d edges, want %d", len(g.Edges), len(w.Edges))
	case !near(g.Min, w.Min) || !near(g.Max, w.Max) || !near(g.Mean, w.Mean) || !near(g.Std, w.Std):
		return "moments differ by more than 1e-6"
	case math.IsNaN(g.Mean) || math.IsNaN(g.Min):
		return "NaN moments"
	}
	for i := range w.Edges {
		if !near(g.Edges[i], w.Edges[i]) {
			return fmt.Sprintf("edge %d is %v, want %v", i, g.Edges[i], w.Edges[i])
		}
	}
	return ""
}
