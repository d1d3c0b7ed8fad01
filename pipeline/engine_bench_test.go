package pipeline

import (
	"testing"
	"time"
)

// BenchmarkEngineBatches runs the engine over 20480 events in batches of
// 1024 (a 256 KiB arena of encoded events each) into a sink that
// acknowledges at once; B/op shows what a run allocates, the encoded
// events' arenas included.
func BenchmarkEngineBatches(b *testing.B) {
	msgs := stream(20480, 4, 0, 0)
	spec := mustSpecTB(b)
	b.ReportAllocs()
	for b.Loop() {
		e, err := New(Config{Spec: spec, Policy: Policy{MaxRows: 1024, MaxBytes: 64 << 20, MaxWait: time.Second, Mode: ModeFixed}}, newFakeSource(msgs, false), sumScorer{}, discardSink{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Run(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "events/s")
}
