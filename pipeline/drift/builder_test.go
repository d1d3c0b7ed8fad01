package drift

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

func TestQuantileEdges(t *testing.T) {
	seq := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i)
		}
		return out
	}
	tests := []struct {
		name   string
		values []float64
		bins   int
		want   []float64
	}{
		{"equal groups", seq(100), 4, []float64{25, 50, 75}},
		{"one bin", seq(10), 1, nil},
		{"ties collapse", []float64{0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 5, []float64{1, 3}},
		{"constant", []float64{7, 7, 7}, 10, nil},
		{"empty", nil, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantileEdges(tc.values, tc.bins); !slices.Equal(got, tc.want) {
				t.Fatalf("edges = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuilderCountsEveryValue(t *testing.T) {
	spec := testSpec(t)
	b := testBaseline(t, spec)
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	x := b.Column("x")
	if !slices.Equal(x.Edges, []float64{25, 50, 75}) || !slices.Equal(x.Counts, []int64{25, 25, 25, 25}) {
		t.Fatalf("x edges %v counts %v", x.Edges, x.Counts)
	}
	if x.Min != 0 || x.Max != 99 || x.Mean != 49.5 || math.Abs(x.Std-29.011491975882016) > 1e-9 {
		t.Fatalf("x min %v max %v mean %v std %v", x.Min, x.Max, x.Mean, x.Std)
	}
	c := b.Column("country")
	// de 50, fr 25, it 25: it loses the tie for the second place by label
	if c.Kind != Categorical || !slices.Equal(c.Categories, []string{"de", "fr"}) || !slices.Equal(c.Counts, []int64{50, 25, 25}) {
		t.Fatalf("country %+v", c)
	}
	f := b.Column("flag")
	if f.Kind != Categorical || len(f.Categories) != 2 || f.Counts[0]+f.Counts[1] != 100 || f.Counts[2] != 0 {
		t.Fatalf("flag %+v", f)
	}
	if s := b.Column("score"); s.Source != FromOutput || s.Output != "score" || !slices.Equal(s.Edges, []float64{0.75}) {
		t.Fatalf("score %+v", s)
	}
	if b.Rows != 100 {
		t.Fatalf("rows = %d", b.Rows)
	}
	// the ID depends on bins, not on counts
	b2 := *b
	b2.Columns = slices.Clone(b.Columns)
	b2.Columns[0].Counts = []int64{1, 2, 3, 4}
	if b.ID() != b2.ID() {
		t.Fatal("ID changed with the counts")
	}
	b2.Columns[0].Edges = []float64{25, 50, 76}
	if b.ID() == b2.ID() {
		t.Fatal("ID did not change with the edges")
	}
	path := filepath.Join(t.TempDir(), "baseline.json")
	if err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != b.ID() || !reflect.DeepEqual(back.Columns, b.Columns) {
		t.Fatal("baseline changed through Save and LoadBaseline")
	}
}

func TestPlanColumnsRejectsUnknownCategoricals(t *testing.T) {
	_, err := PlanColumns(testSpec(t), PlanOptions{Categorical: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("PlanColumns = %v", err)
	}
}

// trainingRows are the training data of TestTrainingFilesGiveTheSameBaseline:
// x (f64; row 3 lacks it), flag (bool; row 5 lacks it: default 0),
// country (string; row 2 null), spend (feature set; every 4th absent),
// score (the output).
func trainingRows() (lines []string, n int) {
	n = 200
	for i := range n {
		var parts []string
		parts = append(parts, fmt.Sprintf(`"id":"r%d"`, i))
		if i != 3 {
			parts = append(parts, fmt.Sprintf(`"x":%g`, math.Sin(float64(i))*10))
		}
		if i != 5 {
			parts = append(parts, fmt.Sprintf(`"flag":%t`, i%3 == 0))
		}
		if i == 2 {
			parts = append(parts, `"country":null`)
		} else {
			parts = append(parts, fmt.Sprintf(`"country":%q`, []string{"de", "fr", "it", "de", "es"}[i%5]))
		}
		if i%4 != 0 {
			parts = append(parts, fmt.Sprintf(`"spend":%g`, float32(i)/7))
		}
		parts = append(parts, fmt.Sprintf(`"score":%g`, float64(i%10)/10))
		lines = append(lines, "{"+strings.Join(parts, ",")+"}")
	}
	return lines, n
}

func writeTrainingParquet(t *testing.T, path string) {
	t.Helper()
	_, n := trainingRows()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "spend", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	mem := memory.NewGoAllocator()
	rb := array.NewRecordBuilder(mem, sch)
	defer rb.Release()
	for i := range n {
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("r%d", i))
		if i == 3 {
			rb.Field(1).AppendNull()
		} else {
			rb.Field(1).(*array.Float64Builder).Append(math.Sin(float64(i)) * 10)
		}
		if i == 5 {
			rb.Field(2).AppendNull()
		} else {
			rb.Field(2).(*array.BooleanBuilder).Append(i%3 == 0)
		}
		if i == 2 {
			rb.Field(3).AppendNull()
		} else {
			rb.Field(3).(*array.StringBuilder).Append([]string{"de", "fr", "it", "de", "es"}[i%5])
		}
		if i%4 == 0 {
			rb.Field(4).AppendNull()
		} else {
			rb.Field(4).(*array.Float32Builder).Append(float32(i) / 7)
		}
		rb.Field(5).(*array.Float64Builder).Append(float64(i%10) / 10)
	}
	rec := rb.NewRecord()
	defer rec.Release()
	tbl := array.NewTableFromRecords(sch, []arrow.Record{rec})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pqarrow.WriteTable(tbl, f, 64, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

func buildFrom(t *testing.T, path string) *Baseline {
	t.Helper()
	spec := testSpec(t)
	cols, err := PlanColumns(spec, PlanOptions{Categorical: []string{"country"}, Outputs: []OutputWidth{{Name: "score", Width: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(cols, BuilderConfig{Bins: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := NewTrainingReader(spec, cols)
	var inputs []float32
	for pass := range 2 {
		_, err := r.ReadFile(context.Background(), path, func(tb *TrainingBatch) error {
			if pass == 0 {
				inputs = append(inputs, tb.Inputs...)
				return b.Sample(&tb.Batch)
			}
			return b.Count(&tb.Batch)
		})
		if err != nil {
			t.Fatal(err)
		}
		b.Freeze()
	}
	// model inputs: x missing → NaN (required), flag absent → default 0,
	// spend absent → the feature set's default -1
	if w := spec.Columns(); !math.IsNaN(float64(inputs[3*w])) || inputs[5*w+1] != 0 || inputs[0*w+2] != -1 {
		t.Fatalf("%s: model inputs rows 3, 5, 0 = %v, %v, %v", path, inputs[3*w:4*w], inputs[5*w:6*w], inputs[0:w])
	}
	return b.Baseline("pay/1", []string{path}, 0)
}

func TestTrainingFilesGiveTheSameBaseline(t *testing.T) {
	dir := t.TempDir()
	lines, n := trainingRows()
	jl := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(jl, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "train.parquet")
	writeTrainingParquet(t, pq)
	a, b := buildFrom(t, jl), buildFrom(t, pq)
	if a.Rows != int64(n) || b.Rows != int64(n) {
		t.Fatalf("rows %d, %d; want %d", a.Rows, b.Rows, n)
	}
	if !reflect.DeepEqual(a.Columns, b.Columns) {
		t.Fatalf("JSONL and Parquet baselines differ:\n%+v\n%+v", a.Columns, b.Columns)
	}
	tests := []struct {
		col                string
		missing, defaulted int64
	}{
		{"x", 1, 0},      // required and absent: missing
		{"flag", 0, 1},   // has a default: binned at it, counted as defaulted
		{"spend", 50, 0}, // feature-set feature absent: missing
		{"country", 1, 0},
		{"score", 0, 0},
	}
	for _, tc := range tests {
		c := a.Column(tc.col)
		if c.Missing != tc.missing || c.Defaulted != tc.defaulted || sum(c.Counts)+c.Missing != int64(n) {
			t.Errorf("%s: missing %d defaulted %d counted %d; want %d, %d, %d in all", tc.col, c.Missing, c.Defaulted, sum(c.Counts)+c.Missing, tc.missing, tc.defaulted, n)
		}
	}
	if c := a.Column("country"); !slices.Equal(c.Categories, []string{"de", "es", "fr", "it"}) {
		t.Errorf("country categories %v", c.Categories)
	}
}
