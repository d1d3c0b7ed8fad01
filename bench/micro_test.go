package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/bench/load"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// batchRows is the standard batch (batch.max_rows).
const batchRows = 1024

var (
	schemaPath = filepath.Join("testdata", "standard.schema.yaml")
	modelPath  = filepath.Join("..", "testdata", "models", "mlp_score.onnx")
)

func standardSpec(tb testing.TB) *schemas.Spec {
	tb.Helper()
	spec, err := schemas.Load(schemaPath)
	if err != nil {
		tb.Fatal(err)
	}
	return spec
}

// standardMessages returns n events of the standard workload as the source
// hands them to the engine.
func standardMessages(n int) []schemas.Message {
	now := time.UnixMilli(1732462400000)
	km := load.NewEvents(1).Messages("events", n, func(int) time.Time { return now })
	msgs := make([]schemas.Message, n)
	for i, m := range km {
		msgs[i] = schemas.Message{Topic: "events", Partition: i % 8, Offset: int64(i), Prev: int64(i) - 1, Key: m.Key, Value: m.Value, Time: now}
	}
	return msgs
}

func openModel(tb testing.TB) *model.Model {
	tb.Helper()
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		tb.Skip("ONNXRUNTIME_LIB is not set (make up && source .run/env)")
	}
	if err := model.Init(lib); err != nil {
		tb.Fatal(err)
	}
	m, err := model.Open(model.Config{Path: modelPath, Name: "mlp_score", Version: "1", Outputs: []string{"score"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// BenchmarkDecode decodes one batch of standard events (JSON → Arrow) per op.
func BenchmarkDecode(b *testing.B) {
	spec := standardSpec(b)
	msgs := standardMessages(batchRows)
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator())
	if out := dec.Decode(msgs); len(out.Errors) > 0 {
		b.Fatalf("standard events do not decode: %v", &out.Errors[0])
	} else {
		out.Release()
	}
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		dec.Decode(msgs).Release()
		rows += len(msgs)
	}
	reportRows(b, rows)
}

// BenchmarkTensor assembles the model input of one decoded batch as the
// engine does: the [N, F] tensor is the features column's buffer (no copy);
// the per-row keys are read out of the key column.
func BenchmarkTensor(b *testing.B) {
	spec := standardSpec(b)
	msgs := standardMessages(batchRows)
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator()).Decode(msgs)
	defer dec.Release()
	b.ReportAllocs()
	rows := 0
	var in pipeline.ScoreInput
	for b.Loop() {
		n := int(dec.Record.NumRows())
		keys := dec.Record.Column(1).(*array.String)
		in = pipeline.ScoreInput{Features: dec.Features(), Rows: n, Cols: len(spec.Features), Keys: make([]string, n)}
		for r := range n {
			in.Keys[r] = keys.Value(r)
		}
		rows += n
	}
	if len(in.Features) != batchRows*len(spec.Features) {
		b.Fatalf("tensor has %d values", len(in.Features))
	}
	reportRows(b, rows)
}

// BenchmarkInfer runs the benchmark MLP once per op, one session and one
// intra-op thread (streamscore's defaults), at each batch size.
func BenchmarkInfer(b *testing.B) {
	m := openModel(b)
	spec := standardSpec(b)
	all := standardMessages(4096)
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator()).Decode(all)
	defer dec.Release()
	x := dec.Features()
	cols := len(spec.Features)
	for _, n := range []int{1, 16, 64, 256, 1024, 4096} {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				if _, err := m.Score(b.Context(), x[:n*cols], n, cols); err != nil {
					b.Fatal(err)
				}
				rows += n
			}
			reportRows(b, rows)
		})
	}
}

// BenchmarkEncode writes the scored events of one batch per op.
func BenchmarkEncode(b *testing.B) {
	spec := standardSpec(b)
	msgs := standardMessages(batchRows)
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator()).Decode(msgs)
	defer dec.Release()
	scores := make([]float64, batchRows)
	for i := range scores {
		scores[i] = float64(float32(i) / batchRows)
	}
	sb := &schemas.ScoredBatch{
		Msgs: msgs, Decoded: dec, Model: "mlp_score", ModelVersion: "1", ScoredAt: time.UnixMilli(1732462400500),
		Scores: []schemas.Scores{{Name: "score", Width: 1, Bits: 32, Values: scores}},
	}
	enc := schemas.NewEncoder(spec)
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		buf = buf[:0]
		for r := range batchRows {
			buf = enc.Append(buf, sb, r)
		}
		rows += batchRows
	}
	b.SetBytes(int64(len(buf)))
	reportRows(b, rows)
}

// BenchmarkScoreBatch is decode, inference and encode of one batch on one
// goroutine: streamscore's CPU cost per event without Kafka.
func BenchmarkScoreBatch(b *testing.B) {
	m := openModel(b)
	spec := standardSpec(b)
	msgs := standardMessages(batchRows)
	d := schemas.NewDecoder(spec, memory.NewGoAllocator())
	enc := schemas.NewEncoder(spec)
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		dec := d.Decode(msgs)
		outs, err := m.Score(b.Context(), dec.Features(), batchRows, len(spec.Features))
		if err != nil {
			b.Fatal(err)
		}
		sb := &schemas.ScoredBatch{
			Msgs: msgs, Decoded: dec, Model: "mlp_score", ModelVersion: "1", ScoredAt: time.Now(),
			Scores: []schemas.Scores{{Name: "score", Width: outs[0].Width, Bits: 32, Values: outs[0].Values}},
		}
		buf = buf[:0]
		for r := range batchRows {
			buf = enc.Append(buf, sb, r)
		}
		dec.Release()
		rows += batchRows
	}
	reportRows(b, rows)
}

// BenchmarkPublish publishes one batch of scored-event-sized records per op
// through the producers.Writer (acks from all in-sync replicas) to an
// 8-partition topic on the local broker.
func BenchmarkPublish(b *testing.B) {
	brokers := os.Getenv("STREAMSCORE_BROKERS")
	if brokers == "" {
		b.Skip("STREAMSCORE_BROKERS is not set (make up && source .run/env)")
	}
	ctx := context.Background()
	bl := strings.Split(brokers, ",")
	topic := fmt.Sprintf("bench.publish.%d", time.Now().UnixNano())
	if err := load.CreateTopics(ctx, bl, 8, 256<<20, topic); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { load.DeleteTopics(context.Background(), bl, topic) })
	w, err := producers.New(producers.Config{Brokers: bl, Topic: topic}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for _, n := range []int{64, 1024} {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) {
			msgs := standardMessages(n)
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				if err := w.Publish(ctx, msgs, nil); err != nil {
					b.Fatal(err)
				}
				rows += n
			}
			reportRows(b, rows)
		})
	}
}
