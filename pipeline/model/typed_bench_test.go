package model

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// BenchmarkDecodeInfer measures decode + inference per row on batches of
// the 200 fixture events: the same forest fed by the single float32 [N, 4]
// fast path and by a typed binding of four features, and the DataFrame
// pipeline with float, int64 and two string inputs and a ZipMap output.
func BenchmarkDecodeInfer(b *testing.B) {
	requireRuntime(b)
	msgs := readTypedEvents(b)
	fast, err := schemas.Load(typedPath("rf_nozipmap.schema.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	typedYAML, err := readText(typedPath("rf_nozipmap.schema.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	typedYAML = strings.Replace(typedYAML, "  input: features\n", "  inputs: [{name: features, features: [f0, f1, f2, f3]}]\n", 1)
	typed, err := schemas.Parse([]byte(typedYAML))
	if err != nil {
		b.Fatal(err)
	}
	mixed, err := schemas.Load(typedPath("df_pipeline.schema.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		model string
		spec  *schemas.Spec
	}{
		{"float-only/fast-path", "rf_nozipmap", fast},
		{"float-only/typed", "rf_nozipmap", typed},
		{"mixed-types", "df_pipeline", mixed},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var outs []string
			for _, o := range bc.spec.Model.Outputs {
				outs = append(outs, o.Name)
			}
			m := openModel(b, Config{Path: typedPath(bc.model + ".onnx"), Outputs: outs, Sessions: 1, IntraOpThreads: 1})
			if bc.spec.Typed() {
				if err := m.Bind(bc.spec, outs); err != nil {
					b.Fatal(err)
				}
			}
			dec := schemas.NewDecoder(bc.spec, memory.NewGoAllocator())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				d := dec.Decode(msgs)
				rows := int(d.Record.NumRows())
				if _, err := m.ScoreBatch(ctx, schemas.ScoreInput{Features: d.Features(), Rows: rows, Cols: bc.spec.Columns(), Columns: d.Record}); err != nil {
					b.Fatal(err)
				}
				d.Release()
			}
			b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/row")
		})
	}
}

func readText(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
