package drift

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

const (
	benchFeatures = 32
	benchRows     = 1024
)

// benchSetup returns a 32-feature spec (plus a categorical passthrough and
// one output), a baseline with 10 bins per numeric column, and one scored
// batch of 1024 rows.
func benchSetup(b *testing.B) (*schemas.Spec, *Baseline, *schemas.ScoredBatch) {
	var y strings.Builder
	y.WriteString("name: bench\nid: id\nfeatures:\n")
	for i := range benchFeatures {
		fmt.Fprintf(&y, "  - name: f%02d\n", i)
	}
	y.WriteString("passthrough: [merchant]\nmodel: {input: x, outputs: [{name: score}]}\n")
	spec, err := schemas.Parse([]byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := make([]schemas.Message, benchRows)
	scores := make([]float64, benchRows)
	for i := range msgs {
		var v []byte
		v = append(v, `{"id":"e`...)
		v = strconv.AppendInt(v, int64(i), 10)
		v = append(v, `","merchant":"m-`...)
		v = strconv.AppendInt(v, int64(rng.IntN(20)), 10)
		v = append(v, '"')
		for f := range benchFeatures {
			v = append(v, `,"f`...)
			v = strconv.AppendInt(v, int64(f/10), 10)
			v = strconv.AppendInt(v, int64(f%10), 10)
			v = append(v, `":`...)
			v = strconv.AppendFloat(v, float64(float32(rng.NormFloat64())), 'g', -1, 32)
		}
		v = append(v, '}')
		msgs[i] = schemas.Message{Value: v}
		scores[i] = rng.Float64()
	}
	d := schemas.NewDecoder(spec, memory.NewGoAllocator()).Decode(msgs)
	if len(d.Errors) > 0 {
		b.Fatalf("decoding: %+v", d.Errors[0])
	}
	sb := &schemas.ScoredBatch{Msgs: msgs, Decoded: d, Model: "bench", ModelVersion: "1", Scores: []schemas.Scores{{Name: "score", Width: 1, Values: scores, Bits: 32}}}

	cols, err := PlanColumns(spec, PlanOptions{Categorical: []string{"merchant"}, Outputs: []OutputWidth{{Name: "score", Width: 1}}})
	if err != nil {
		b.Fatal(err)
	}
	bl, err := NewBuilder(cols, BuilderConfig{Bins: 10})
	if err != nil {
		b.Fatal(err)
	}
	tr := &TrainingBatch{Batch: Batch{Rows: benchRows, Cols: make([]Values, len(cols))}}
	x := d.Features()
	mcol := d.Record.Column(4)
	for c, col := range cols {
		v := &tr.Cols[c]
		for r := range benchRows {
			switch col.Source {
			case FromFeature:
				v.Floats = append(v.Floats, float64(x[r*benchFeatures+c]))
			case FromPassthrough:
				s, _ := passthroughLabel(mcol.ValueStr(r))
				v.Strings = append(v.Strings, s)
			case FromOutput:
				v.Floats = append(v.Floats, scores[r])
			}
		}
	}
	bl.Sample(&tr.Batch)
	bl.Freeze()
	bl.Count(&tr.Batch)
	return spec, bl.Baseline("bench", nil, 0), sb
}

// BenchmarkObserveBatch folds one scored batch of 1024 rows (32 numeric
// features in 10 bins, one categorical passthrough field, one output) per
// op, as the engine's inference goroutine does: with the bin lookup tables
// (what runs), and counting edges for every value (to compare).
func BenchmarkObserveBatch(b *testing.B) {
	for _, mode := range []string{"table", "edge-count"} {
		b.Run(mode, func(b *testing.B) {
			spec, base, sb := benchSetup(b)
			defer sb.Decoded.Release()
			now := time.UnixMilli(1_699_999_980_000)
			m, err := NewMonitor(Config{Now: func() time.Time { return now }}, base, spec, NewMemoryStore(nil), nil, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if mode == "edge-count" {
				for i := range m.lay.cols {
					m.lay.cols[i].table = nil
				}
			}
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				m.ObserveBatch(sb)
				ops++
			}
			rows := float64(ops * benchRows)
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
		})
	}
}

// BenchmarkFlushMemory measures building one flush of a full bucket (the
// work besides the round trip).
func BenchmarkFlushMemory(b *testing.B) {
	spec, base, sb := benchSetup(b)
	defer sb.Decoded.Release()
	now := time.UnixMilli(1_699_999_980_000)
	m, err := NewMonitor(Config{Now: func() time.Time { return now }}, base, spec, NewMemoryStore(func() time.Time { return now }), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveBatch(sb)
		if err := m.Flush(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
