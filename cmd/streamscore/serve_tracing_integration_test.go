//go:build integration

package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// otlpReceiver is an OTLP/HTTP trace receiver (POST /v1/traces, protobuf)
// that keeps every span it is sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			o.spans = append(o.spans, ss.GetSpans()...)
		}
	}
	o.mu.Unlock()
	b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

func (o *otlpReceiver) all() []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*tracepb.Span(nil), o.spans...)
}

// TestServeTracesRequests runs `streamscore serve` with tracing on (OTLP
// over HTTP to a receiver in the test, sampling 0) and sends one request
// with a sampled traceparent and some without: the traced request's span is
// the child of the caller's span, the batch that scored it is linked to it
// and has decode, infer and encode spans, and the other requests export
// nothing.
func TestServeTracesRequests(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
schema: %s/testdata/linear.schema.yaml
model:
  path: %s/testdata/models/linear.onnx
http: {addr: "127.0.0.1:0"}
tracing: {enabled: true, protocol: http, endpoint: %q, sampling: 0, service_name: streamscore-it}
log: {format: json}
`, repoRoot(t), repoRoot(t), strings.TrimPrefix(collector.URL, "http://")))
	cmd, logs := startServe(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)

	tp, traceID := traceparent()
	callerSpan := tp[36:52]
	evs := makeEvents(6, 3, 9)
	for i, ev := range evs {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/score", bytes.NewReader(ev.value))
		if i == 0 {
			req.Header.Set("traceparent", tp)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, res.Status)
		}
	}
	// Spans are exported in batches within a second, and at shutdown.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve did not exit 0 after SIGTERM: %v", err)
	}

	spans := recv.all()
	var request *tracepb.Span
	byName := map[string][]*tracepb.Span{}
	for _, s := range spans {
		byName[s.GetName()] = append(byName[s.GetName()], s)
	}
	if len(byName["POST /v1/score"]) != 1 {
		t.Fatalf("%d request spans exported, want 1 (only the traced request): %v", len(byName["POST /v1/score"]), spanNames(spans))
	}
	request = byName["POST /v1/score"][0]
	if hex.EncodeToString(request.GetTraceId()) != traceID || hex.EncodeToString(request.GetParentSpanId()) != callerSpan || request.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span: trace %x parent %x kind %v; want trace %s, parent %s, server",
			request.GetTraceId(), request.GetParentSpanId(), request.GetKind(), traceID, callerSpan)
	}
	if len(byName["streamscore.batch"]) != 1 {
		t.Fatalf("%d batch spans exported, want 1: %v", len(byName["streamscore.batch"]), spanNames(spans))
	}
	batch := byName["streamscore.batch"][0]
	links := batch.GetLinks()
	if len(links) != 1 || !bytes.Equal(links[0].GetSpanId(), request.GetSpanId()) || !bytes.Equal(links[0].GetTraceId(), request.GetTraceId()) {
		t.Errorf("batch span links %v; want one, to the request span %x", links, request.GetSpanId())
	}
	for _, stage := range []string{"decode", "infer", "encode"} {
		if len(byName[stage]) != 1 || !bytes.Equal(byName[stage][0].GetParentSpanId(), batch.GetSpanId()) {
			t.Errorf("stage %s: %d spans, want one under the batch span", stage, len(byName[stage]))
		}
	}
	t.Logf("exported spans: %v", spanNames(spans))
}

func spanNames(spans []*tracepb.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.GetName()
	}
	return out
}
