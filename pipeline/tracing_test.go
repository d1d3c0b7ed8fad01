package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/schemas"
)

func TestParseTraceparent(t *testing.T) {
	cases := []struct {
		name, in string
		ok       bool
		sampled  bool
	}{
		{name: "sampled", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ok: true, sampled: true},
		{name: "not sampled", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", ok: true},
		{name: "future version with more fields", in: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz", ok: true, sampled: true},
		{name: "version 00 with more fields", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"},
		{name: "version ff", in: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{name: "zero trace id", in: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{name: "zero span id", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
		{name: "upper-case hex", in: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{name: "short", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"},
		{name: "empty", in: ""},
		{name: "bad separator", in: "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, ok := ParseTraceparent([]byte(tc.in))
			if ok != tc.ok || (ok && sc.IsSampled() != tc.sampled) {
				t.Fatalf("ParseTraceparent(%q) = %v, %v; want ok %v, sampled %v", tc.in, sc, ok, tc.ok, tc.sampled)
			}
			if ok && (sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" || !sc.IsRemote()) {
				t.Fatalf("ParseTraceparent(%q) = %s/%s remote %v", tc.in, sc.TraceID(), sc.SpanID(), sc.IsRemote())
			}
		})
	}
}

func tracedEngine(t testing.TB, msgs []schemas.Message, tr trace.Tracer, sink Sink) *Engine {
	t.Helper()
	e, err := New(Config{Spec: mustSpecTB(t), Policy: Policy{MaxRows: 64, MaxBytes: 1 << 20, MaxWait: time.Millisecond}, Tracer: tr}, newFakeSource(msgs, false), sumScorer{}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustSpecTB(t testing.TB) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEngineTracesEachBatchStage(t *testing.T) {
	msgs := stream(300, 1, 0, 0)
	tps := map[string]bool{}
	for i := range msgs {
		if i%3 == 0 {
			tp := fmt.Sprintf("00-%032x-%016x-01", i+1, i+1)
			tps[fmt.Sprintf("%032x", i+1)] = true
			msgs[i].Headers = []schemas.Header{{Key: "traceparent", Value: []byte(tp)}}
		}
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(t.Context())
	if err := tracedEngine(t, msgs, tp.Tracer("test"), &recordingSink{}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	byTrace := map[trace.TraceID]map[string]tracetest.SpanStub{}
	linked := map[string]bool{}
	rows := 0
	for _, s := range spans {
		m := byTrace[s.SpanContext.TraceID()]
		if m == nil {
			m = map[string]tracetest.SpanStub{}
			byTrace[s.SpanContext.TraceID()] = m
		}
		m[s.Name] = s
		for _, l := range s.Links {
			linked[l.SpanContext.TraceID().String()] = true
		}
	}
	if len(byTrace) == 0 {
		t.Fatal("no spans recorded")
	}
	attr := func(s tracetest.SpanStub, k string) attribute.Value {
		for _, a := range s.Attributes {
			if string(a.Key) == k {
				return a.Value
			}
		}
		return attribute.Value{}
	}
	for id, m := range byTrace {
		root, ok := m[spanBatch]
		if !ok {
			t.Fatalf("trace %s has no %s span: %v", id, spanBatch, m)
		}
		for _, st := range []string{"decode", "infer", "publish"} {
			s, ok := m[st]
			if !ok {
				t.Fatalf("trace %s has no %s span", id, st)
			}
			if s.Parent.SpanID() != root.SpanContext.SpanID() {
				t.Errorf("%s span's parent is %s, want the batch span", st, s.Parent.SpanID())
			}
			if len(s.Links) != len(root.Links) {
				t.Errorf("%s span has %d links, the batch %d", st, len(s.Links), len(root.Links))
			}
		}
		n := attr(root, attrBatchSize).AsInt64()
		rows += int(n)
		if n < 1 || attr(root, attrPartition).AsInt64() != 0 || attr(root, attrModelVersion).AsString() != "7" || attr(m["publish"], attrModelVersion).AsString() != "7" {
			t.Errorf("batch span attributes = %v", root.Attributes)
		}
		if root.EndTime.Before(m["publish"].EndTime) {
			t.Errorf("the batch span ends before its publish span")
		}
	}
	if rows != len(msgs) {
		t.Errorf("batch spans cover %d events, want %d", rows, len(msgs))
	}
	for id := range tps {
		if !linked[id] {
			t.Errorf("no span links to input trace %s", id)
		}
	}
}

func TestEngineSkipsUnsampledBatches(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.NeverSample()))
	defer tp.Shutdown(t.Context())
	if err := tracedEngine(t, stream(200, 2, 0, 0), tp.Tracer("test"), &recordingSink{}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans exported with a sampler that samples nothing", n)
	}
}

func TestInputLinksDedupAndBound(t *testing.T) {
	var msgs []schemas.Message
	for i := range 300 {
		tp := fmt.Sprintf("00-%032x-%016x-01", i%200+1, 1)
		msgs = append(msgs, schemas.Message{Headers: []schemas.Header{{Key: "other", Value: []byte("x")}, {Key: "traceparent", Value: []byte(tp)}}})
	}
	msgs = append(msgs, schemas.Message{Headers: []schemas.Header{{Key: "traceparent", Value: []byte("garbage")}}})
	if got := len(inputLinks(msgs[:150])); got != 150 && got != maxLinks {
		t.Errorf("%d links for 150 distinct contexts", got)
	}
	if got := len(inputLinks(msgs)); got != maxLinks {
		t.Errorf("%d links, want the bound %d", got, maxLinks)
	}
	if got := len(inputLinks(append(msgs[:0:0], msgs[0], msgs[200], msgs[300]))); got != 1 {
		t.Errorf("%d links for one context twice and one malformed, want 1", got)
	}
}

// BenchmarkEngineTracing runs the engine over 20000 events with tracing
// off (nil Tracer; events without headers, then each with a traceparent
// that is copied onto its scored event), on with nothing sampled, and on
// with every batch sampled into a discarding exporter, to show what
// tracing costs.
func BenchmarkEngineTracing(b *testing.B) {
	plain := stream(20000, 4, 0, 0)
	msgs := stream(20000, 4, 0, 0)
	for i := range msgs {
		msgs[i].Headers = []schemas.Header{{Key: "traceparent", Value: fmt.Appendf(nil, "00-%032x-%016x-01", i+1, i+1)}}
	}
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	always := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer never.Shutdown(b.Context())
	defer always.Shutdown(b.Context())
	cases := []struct {
		name string
		msgs []schemas.Message
		tr   trace.Tracer
	}{
		{"off_no_headers", plain, nil},
		{"off", msgs, nil},
		{"on_unsampled", msgs, never.Tracer("b")},
		{"on_sampled", msgs, always.Tracer("b")},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tracedEngine(b, tc.msgs, tc.tr, discardSink{}).Run(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(tc.msgs))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// discardSink acknowledges everything at once.
type discardSink struct{}

func (discardSink) Publish(_ context.Context, _ []schemas.Message, _ []schemas.DeadLetter) error {
	return nil
}
