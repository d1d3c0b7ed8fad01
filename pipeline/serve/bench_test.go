package serve

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/schemas"
)

// BenchmarkServeTracing scores single-event requests from 64 goroutines
// through Server.Score with tracing off (nil Tracer), on with nothing
// sampled, and on with every batch sampled into a discarding exporter, to
// show what tracing HTTP scoring costs. Request spans are not included
// (ServeHTTP starts them); the batch's spans are.
func BenchmarkServeTracing(b *testing.B) {
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	always := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer never.Shutdown(context.Background())
	defer always.Shutdown(context.Background())
	spec, err := schemas.Load("../../testdata/linear.schema.yaml")
	if err != nil {
		b.Fatal(err)
	}
	events := make([][]byte, 256)
	for i := range events {
		events[i], _ = event(fmt.Sprintf("e%d", i), i)
	}
	for _, tc := range []struct {
		name string
		tr   trace.Tracer
	}{{"off", nil}, {"on_unsampled", never.Tracer("b")}, {"on_sampled", always.Tracer("b")}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := New(Config{Spec: spec, Mem: memory.NewGoAllocator(), Tracer: tc.tr}, &sumScorer{}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			b.ReportAllocs()
			var wg sync.WaitGroup
			per := b.N/64 + 1
			b.ResetTimer()
			for g := range 64 {
				wg.Go(func() {
					for i := range per {
						if _, err := s.Score(context.Background(), events[(g*per+i)%len(events):][:1]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(64*per)/b.Elapsed().Seconds(), "requests/s")
			cancel()
			<-done
		})
	}
}
