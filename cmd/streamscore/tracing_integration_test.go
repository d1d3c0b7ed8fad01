//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// traceparent returns a sampled W3C traceparent with random ids, and its
// trace id.
func traceparent() (header, traceID string) {
	var b [24]byte
	rand.Read(b[:])
	traceID = hex.EncodeToString(b[:16])
	return fmt.Sprintf("00-%s-%s-01", traceID, hex.EncodeToString(b[16:])), traceID
}

// produceTraced writes the linear schema's events with a traceparent, a
// tracestate and two other headers (one allowed by tracing.headers), plus
// bad events with the same headers; it returns the traceparent.
func produceTraced(t *testing.T, brokers []string, topic string, good []inputEvent, bad int) (tp, traceID string) {
	t.Helper()
	tp, traceID = traceparent()
	hs := []kafka.Header{{Key: "traceparent", Value: []byte(tp)}, {Key: "tracestate", Value: []byte("vendor=1")},
		{Key: "x-request-id", Value: []byte("req-1")}, {Key: "x-secret", Value: []byte("no")}}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	var msgs []kafka.Message
	for i := range good {
		msgs = append(msgs, kafka.Message{Key: []byte(good[i].key), Value: good[i].value, Headers: hs})
	}
	for i := range bad {
		msgs = append(msgs, kafka.Message{Key: []byte("bad"), Value: fmt.Appendf(nil, "not json %d", i), Headers: hs})
	}
	// WriteFresh: the topic was just created and may not have leaders yet.
	if err := producers.WriteFresh(t.Context(), w, msgs); err != nil {
		t.Fatal(err)
	}
	return tp, traceID
}

// headerMap returns a record's headers by key (the last value wins).
func headerMap(m kafka.Message) map[string]string {
	out := map[string]string{}
	for _, h := range m.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

// TestTraceContextCarried produces events carrying a traceparent (as kcat -H
// would), some of them not JSON, and checks that every scored event keeps
// traceparent, tracestate and the allow-listed header but not the others,
// and that every dead letter keeps them all. With Jaeger running (make up
// with STREAMSCORE_JAEGER=1), it also checks that the batch spans reach
// Jaeger linked to the produced trace.
func TestTraceContextCarried(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	otlp, query := os.Getenv("STREAMSCORE_OTLP"), os.Getenv("STREAMSCORE_JAEGER_QUERY")
	service := "streamscore-it-" + fmt.Sprint(time.Now().UnixNano())
	in, out, dlq, group := uniqueTopics("it-trace")
	extra := "tracing: {headers: [X-Request-Id]}\n"
	if otlp != "" && query != "" {
		// sampling 0: only batches holding a sampled traceparent are traced.
		extra = fmt.Sprintf("tracing: {headers: [X-Request-Id], enabled: true, endpoint: %q, sampling: 0, service_name: %s}\n", otlp, service)
	}
	cfgPath := linearConfig(t, in, out, dlq, group)
	body, _ := os.ReadFile(cfgPath)
	cfg := writeConfig(t, string(body)+extra)
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	const n, bad = 300, 5
	tp, traceID := produceTraced(t, brokers, in, makeEvents(n, 50, 5), bad)
	cmd, _ := startRun(t, cfg)

	for _, m := range readAll(t, brokers, out, n, 90*time.Second) {
		h := headerMap(m)
		if h["traceparent"] != tp || h["tracestate"] != "vendor=1" || h["x-request-id"] != "req-1" || len(h) != 3 {
			t.Fatalf("scored event headers = %v; want traceparent, tracestate and x-request-id only", h)
		}
	}
	for _, m := range readAll(t, brokers, dlq, bad, 30*time.Second) {
		h := headerMap(m)
		if h["traceparent"] != tp || h["tracestate"] != "vendor=1" || h["x-secret"] != "no" || h[schemas.HeaderReason] != string(schemas.ReasonInvalidJSON) {
			t.Fatalf("dead letter headers = %v; want the input's and the reason's", h)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after SIGTERM: %v", err)
	}

	if query == "" {
		t.Log("Jaeger is not running (make up with STREAMSCORE_JAEGER=1): spans not checked")
		return
	}
	// Spans are flushed at shutdown; Jaeger stores them within a second or so.
	var linked map[string]int
	deadline := time.Now().Add(30 * time.Second)
	for {
		linked = jaegerLinkedSpans(t, query, service, traceID)
		if linked["decode"] > 0 && linked["infer"] > 0 && linked["publish"] > 0 && linked["streamscore.batch"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger holds these spans of %s linked to trace %s: %v; want streamscore.batch, decode, infer and publish", service, traceID, linked)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("Jaeger: spans linked to the produced trace, by operation: %v", linked)
}

// jaegerLinkedSpans asks Jaeger's query API for service's traces and counts,
// by operation, the spans that reference (link to) traceID.
func jaegerLinkedSpans(t *testing.T, query, service, traceID string) map[string]int {
	t.Helper()
	var res struct {
		Data []struct {
			Spans []struct {
				Operation  string `json:"operationName"`
				References []struct {
					RefType string `json:"refType"`
					TraceID string `json:"traceID"`
				} `json:"references"`
			} `json:"spans"`
		} `json:"data"`
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	getJSON(ctx, t, fmt.Sprintf("%s/api/traces?service=%s&limit=1000&lookback=1h", query, service), &res)
	out := map[string]int{}
	for _, tr := range res.Data {
		for _, s := range tr.Spans {
			for _, r := range s.References {
				if r.TraceID == traceID {
					out[s.Operation]++
					break
				}
			}
		}
	}
	return out
}
