package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/tracing"
)

// TestServeTracesRequestsAndBatches sends requests with and without a
// traceparent under a sampler that traces nothing on its own (ratio 0): a
// request whose traceparent says sampled gets a server span that is the
// child of the caller's span, and the batch that scores it a span linked to
// that request span, with decode, infer and encode stage spans under it; a
// request without one records nothing.
func TestServeTracesRequestsAndBatches(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(tracing.Sampler(0)))
	defer tp.Shutdown(t.Context())
	_, hs := startServer(t, Config{MaxRows: 64, MaxWait: 20 * time.Millisecond, Tracer: tp.Tracer("test")}, &sumScorer{})

	const traced, plain = 3, 3
	parents := make([]string, traced)
	var wg sync.WaitGroup
	for i := range traced + plain {
		ev, _ := event(fmt.Sprintf("e%d", i), i)
		req, err := http.NewRequest(http.MethodPost, hs.URL, bytes.NewReader(ev))
		if err != nil {
			t.Fatal(err)
		}
		if i < traced {
			parents[i] = fmt.Sprintf("00-%032x-%016x-01", 0xabc0+i, 0xdef0+i)
			req.Header.Set("traceparent", parents[i])
			req.Header.Set("tracestate", "vendor=1")
		}
		wg.Go(func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("request %d: %s", i, resp.Status)
			}
		})
	}
	wg.Wait()

	spans := exp.GetSpans()
	requests := map[string]tracetest.SpanStub{} // by trace id
	batches := map[trace.SpanID]tracetest.SpanStub{}
	stages := map[trace.SpanID][]string{}
	for _, s := range spans {
		switch s.Name {
		case spanRequest:
			requests[s.SpanContext.TraceID().String()] = s
		case "streamscore.batch":
			batches[s.SpanContext.SpanID()] = s
		default:
			stages[s.Parent.SpanID()] = append(stages[s.Parent.SpanID()], s.Name)
		}
	}
	if len(requests) != traced {
		t.Fatalf("%d request spans, want %d (only the requests with a sampled traceparent): %v", len(requests), traced, names(spans))
	}
	linked := map[trace.SpanID]bool{}
	for _, b := range batches {
		for _, l := range b.Links {
			linked[l.SpanContext.SpanID()] = true
		}
		got := stages[b.SpanContext.SpanID()]
		if fmt.Sprint(got) != "[decode infer encode]" {
			t.Errorf("batch %s has stage spans %v, want [decode infer encode]", b.SpanContext.SpanID(), got)
		}
		if attr(b, "streamscore.model") != "sum" || attr(b, "streamscore.model.version") != "7" {
			t.Errorf("batch span attributes %v lack the model", b.Attributes)
		}
	}
	for i, p := range parents {
		tid, sid := p[3:35], p[36:52]
		r, ok := requests[tid]
		if !ok {
			t.Errorf("no request span in the caller's trace %s", tid)
			continue
		}
		if r.Parent.SpanID().String() != sid || r.SpanKind != trace.SpanKindServer {
			t.Errorf("request %d: parent %s kind %v, want the caller's span %s, server", i, r.Parent.SpanID(), r.SpanKind, sid)
		}
		if r.SpanContext.TraceState().Get("vendor") != "1" {
			t.Errorf("request %d: tracestate %q, want vendor=1 carried", i, r.SpanContext.TraceState())
		}
		if attr(r, "http.response.status_code") != "200" {
			t.Errorf("request %d: attributes %v", i, r.Attributes)
		}
		if !linked[r.SpanContext.SpanID()] {
			t.Errorf("request %d: no batch span links to its span %s", i, r.SpanContext.SpanID())
		}
	}
}

// TestServeTracingOffRecordsNothing: without a Tracer a traceparent is
// accepted and nothing is recorded or fails.
func TestServeTracingOffRecordsNothing(t *testing.T) {
	_, hs := startServer(t, Config{}, &sumScorer{})
	ev, _ := event("e1", 1)
	req, _ := http.NewRequest(http.MethodPost, hs.URL, bytes.NewReader(ev))
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
