package bench

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

var typedDir = filepath.Join("..", "testdata", "models", "typed")

// typedMessages returns n events cycled from the typed fixtures' events
// (testdata/models/typed/events.jsonl), ids kept, offsets distinct.
func typedMessages(tb testing.TB, n int) []schemas.Message {
	tb.Helper()
	f, err := os.Open(filepath.Join(typedDir, "events.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if len(lines) == 0 {
		tb.Fatal("no fixture events")
	}
	msgs := make([]schemas.Message, n)
	for i := range msgs {
		msgs[i] = schemas.Message{Topic: "events", Offset: int64(i), Value: lines[i%len(lines)]}
	}
	return msgs
}

// BenchmarkDecodeInferTyped is decode + inference of one standard batch
// (1024 events) per op, one session and one intra-op thread, for the
// fixture models of issue 13: a random forest on four float32 features fed
// by the single [N, 4] fast path (float-only/fast-path) and by a typed
// binding of the same features (float-only/typed), the same forest
// exported with ZipMap on (float-only/zipmap), and the DataFrame pipeline
// with float32, int64 and two string inputs and a ZipMap output
// (mixed-types). The fast path reads the features column's buffer; typed
// inputs copy each feature's own column into its tensor, string inputs cost
// one Go string per value, and a ZipMap output is read by onnxruntime_go as
// one map, two tensors and several cgo calls per row.
func BenchmarkDecodeInferTyped(b *testing.B) {
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		b.Skip("ONNXRUNTIME_LIB is not set (make up && source .run/env)")
	}
	if err := model.Init(lib); err != nil {
		b.Fatal(err)
	}
	load := func(name string, edit func(string) string) *schemas.Spec {
		raw, err := os.ReadFile(filepath.Join(typedDir, name+".schema.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		text := string(raw)
		if edit != nil {
			text = edit(text)
		}
		spec, err := schemas.Parse([]byte(text))
		if err != nil {
			b.Fatal(err)
		}
		return spec
	}
	typedForest := func(s string) string {
		return strings.Replace(s, "  input: features\n", "  inputs: [{name: features, features: [f0, f1, f2, f3]}]\n", 1)
	}
	msgs := typedMessages(b, batchRows)
	for _, bc := range []struct {
		name, model string
		spec        *schemas.Spec
	}{
		{"float-only/fast-path", "rf_nozipmap", load("rf_nozipmap", nil)},
		{"float-only/typed", "rf_nozipmap", load("rf_nozipmap", typedForest)},
		{"float-only/zipmap", "rf_zipmap", load("rf_zipmap", nil)},
		{"mixed-types", "df_pipeline", load("df_pipeline", nil)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var outs []string
			for _, o := range bc.spec.Model.Outputs {
				outs = append(outs, o.Name)
			}
			m, err := model.Open(model.Config{Path: filepath.Join(typedDir, bc.model+".onnx"), Name: bc.model, Version: "1", Outputs: outs, Sessions: 1, IntraOpThreads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			if bc.spec.Typed() {
				if err := m.Bind(bc.spec, outs); err != nil {
					b.Fatal(err)
				}
			}
			dec := schemas.NewDecoder(bc.spec, memory.NewGoAllocator())
			if d := dec.Decode(msgs); len(d.Errors) > 0 {
				b.Fatalf("fixture events do not decode: %v", &d.Errors[0])
			} else {
				d.Release()
			}
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				d := dec.Decode(msgs)
				n := int(d.Record.NumRows())
				if _, err := m.ScoreBatch(b.Context(), schemas.ScoreInput{Features: d.Features(), Rows: n, Cols: bc.spec.Columns(), Columns: d.Record}); err != nil {
					b.Fatal(err)
				}
				d.Release()
				rows += n
			}
			reportRows(b, rows)
		})
	}
}
