package schemas_test

import (
	"os"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/hamba/avro/v2"
	"github.com/linkedin/goavro/v2"

	"github.com/streamscore/streamscore/schemas"
)

// benchFormatBatch returns 1024 standard payments events in format's
// encoding and the spec that reads them.
func benchFormatBatch(b testing.TB, format string) (*schemas.Spec, []schemas.Message, int) {
	events := paymentEvents(benchBatch)
	var spec *schemas.Spec
	var msgs []schemas.Message
	switch format {
	case "json":
		spec = loadSpec(b, "../testdata/mlp.schema.yaml")
		msgs = jsonMsgs(events)
	case "avro":
		spec = loadSpec(b, "../testdata/formats/payments.avro.yaml")
		msgs = encodeAll(b, spec, idPayments, events)
	case "protobuf":
		spec = loadSpec(b, "../testdata/formats/payments.protobuf.yaml")
		msgs = encodeAll(b, spec, idProto, events)
	}
	total := 0
	for _, m := range msgs {
		total += len(m.Value)
	}
	return spec, msgs, total
}

// BenchmarkDecodeFormat decodes one batch of 1024 standard payments events
// (32 float32 features, id, key, time, a passthrough field) per op into
// Arrow, for each format. ns/row is the decode cost per event.
//
// mem=go decodes into the Go allocator's fresh buffers (garbage for the
// collector, whose work the process CPU time counts), mem=pool into a
// schemas.BufferPool, as run does.
func BenchmarkDecodeFormat(b *testing.B) {
	for _, format := range []string{"json", "avro", "protobuf"} {
		for _, pooled := range []bool{false, true} {
			name := format + "/mem=go"
			var mem memory.Allocator = memory.NewGoAllocator()
			if pooled {
				name, mem = format+"/mem=pool", schemas.NewBufferPool(0)
			}
			b.Run(name, func(b *testing.B) {
				spec, msgs, total := benchFormatBatch(b, format)
				benchDecodeLoop(b, schemas.NewDecoder(spec, mem), msgs, total)
			})
		}
	}
}

// BenchmarkAvroLibraries compares, per standard event, the generic
// decoders of hamba/avro and linkedin/goavro (into a map: what decoding
// without a reader compiled for the spec costs) with streamscore's reader
// into Arrow. cpu-ns/event is the process's CPU time, which on a shared
// machine counts less of the waiting than ns/op does.
func BenchmarkAvroLibraries(b *testing.B) {
	spec, msgs, _ := benchFormatBatch(b, "avro")
	text, err := os.ReadFile("../testdata/formats/payments.avsc")
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		bodies[i] = m.Value[schemas.WireHeaderSize:]
	}
	b.Run("hamba-map", func(b *testing.B) {
		s := avro.MustParse(string(text))
		b.ReportAllocs()
		i := 0
		cpu := processCPU()
		for b.Loop() {
			var m map[string]any
			if err := avro.Unmarshal(s, bodies[i%len(bodies)], &m); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(i), "cpu-ns/event")
	})
	b.Run("goavro-native", func(b *testing.B) {
		codec, err := goavro.NewCodec(string(text))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		cpu := processCPU()
		for b.Loop() {
			if _, _, err := codec.NativeFromBinary(bodies[i%len(bodies)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(i), "cpu-ns/event")
	})
	b.Run("streamscore-arrow", func(b *testing.B) {
		d := schemas.NewDecoder(spec, memory.NewGoAllocator())
		b.ReportAllocs()
		ops := 0
		cpu := processCPU()
		for b.Loop() {
			d.Decode(msgs).Release()
			ops++
		}
		b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(ops*len(msgs)), "cpu-ns/event")
	})
}
