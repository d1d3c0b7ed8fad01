package schemas_test

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
	benchBatch    = 1024
)

// benchSpec is a realistic model input: 32 float32 features, the id and key
// read from the event, the event time as epoch milliseconds.
func benchSpec(b *testing.B) *schemas.Spec {
	var y strings.Builder
	y.WriteString("name: bench\nversion: \"1\"\nid: id\nkey: user\nevent_time: ts\nfeatures:\n")
	for i := range benchFeatures {
		fmt.Fprintf(&y, "  - name: f%d\n", i)
	}
	y.WriteString("model: {input: x, outputs: [{name: score}]}\n")
	return parseSpec(b, y.String())
}

// benchEvents are the event shapes benchmarked: feature values printed with
// 4 significant digits (events of about 480 bytes, the size DESIGN.md quotes)
// and with 9, enough to round-trip any float32 (about 620 bytes).
var benchEvents = []struct {
	name   string
	digits int
}{
	{"digits=4", 4},
	{"digits=9", 9},
}

// benchMessages returns benchBatch events with 32 features, each value
// printed with digits significant digits.
func benchMessages(digits int) ([]schemas.Message, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := make([]schemas.Message, benchBatch)
	total := 0
	t0 := time.UnixMilli(1732462400000)
	for i := range msgs {
		var v []byte
		v = append(v, `{"id":"evt-`...)
		v = strconv.AppendInt(v, int64(1000000+i), 10)
		v = append(v, `","user":"user-`...)
		v = strconv.AppendInt(v, int64(rng.IntN(100000)), 10)
		v = append(v, `","ts":`...)
		v = strconv.AppendInt(v, t0.UnixMilli()+int64(i), 10)
		for f := range benchFeatures {
			v = append(v, `,"f`...)
			v = strconv.AppendInt(v, int64(f), 10)
			v = append(v, `":`...)
			x := float32(rng.NormFloat64())
			v = strconv.AppendFloat(v, float64(x), 'g', digits, 32)
		}
		v = append(v, '}')
		msgs[i] = schemas.Message{Topic: "events", Partition: i % 8, Offset: int64(i), Prev: int64(i) - 1, Key: []byte("user"), Value: v, Time: t0}
		total += len(v)
	}
	return msgs, total
}

// BenchmarkDecode decodes one 1024-event batch per op into Arrow and
// releases it: mem=go into the Go allocator's fresh buffers (garbage whose
// collection the process CPU counts), mem=pool into a schemas.BufferPool,
// as run decodes.
func BenchmarkDecode(b *testing.B) {
	spec := benchSpec(b)
	for _, be := range benchEvents {
		for _, pooled := range []bool{false, true} {
			name := be.name + "/mem=go"
			var mem memory.Allocator = memory.NewGoAllocator()
			if pooled {
				name, mem = be.name+"/mem=pool", schemas.NewBufferPool(0)
			}
			b.Run(name, func(b *testing.B) {
				msgs, total := benchMessages(be.digits)
				benchDecodeLoop(b, schemas.NewDecoder(spec, mem), msgs, total)
			})
		}
	}
}

// benchDecodeLoop decodes msgs (total bytes) with d once per op, after
// checking that they all decode, and reports rows/s, ns/row, cpu-ns/row and
// bytes/row.
func benchDecodeLoop(b *testing.B, d *schemas.Decoder, msgs []schemas.Message, total int) {
	if out := d.Decode(msgs); len(out.Errors) > 0 {
		b.Fatalf("bench events do not decode: %v", &out.Errors[0])
	} else {
		out.Release()
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	ops := 0
	cpu := processCPU()
	for b.Loop() {
		d.Decode(msgs).Release()
		ops++
	}
	reportRows(b, ops, processCPU()-cpu)
	b.ReportMetric(float64(total)/benchBatch, "bytes/row")
}

// BenchmarkEncode encodes one 1024-row scored batch per op into one buffer.
func BenchmarkEncode(b *testing.B) {
	spec := benchSpec(b)
	msgs, _ := benchMessages(9)
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator()).Decode(msgs)
	defer dec.Release()
	scores := make([]float64, benchBatch)
	for i := range scores {
		scores[i] = float64(float32(i) / benchBatch)
	}
	sb := &schemas.ScoredBatch{
		Msgs: msgs, Decoded: dec, Model: "fraud", ModelVersion: "3", ScoredAt: time.UnixMilli(1732462400500),
		Scores: []schemas.Scores{{Name: "score", Width: 1, Bits: 32, Values: scores}},
	}
	enc := schemas.NewEncoder(spec)
	buf := make([]byte, 0, 512*benchBatch)
	for row := range benchBatch {
		buf = enc.Append(buf, sb, row)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	ops := 0
	cpu := processCPU()
	for b.Loop() {
		buf = buf[:0]
		for row := range benchBatch {
			buf = enc.Append(buf, sb, row)
		}
		ops++
	}
	reportRows(b, ops, processCPU()-cpu)
}

// reportRows reports rows/s and ns/row from wall time, and cpu-ns/row from
// the process's CPU time over the loop (GC included): on a shared machine
// the wall time also counts waiting for a core, the CPU time does not.
func reportRows(b *testing.B, ops int, cpu time.Duration) {
	rows := float64(ops * benchBatch)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/rows, "cpu-ns/row")
	}
}
