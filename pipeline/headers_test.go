package pipeline

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

var scoredID = regexp.MustCompile(`"event_id":"(e\d+)"`)

func TestEngineCopiesTraceHeaders(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	msgs := stream(40, 2, 10, 0)
	for i := range msgs {
		switch i % 4 {
		case 0: // trace context, an allowed header in another case, and one not allowed
			msgs[i].Headers = []schemas.Header{
				{Key: "traceparent", Value: []byte(tp)},
				{Key: "tracestate", Value: []byte(fmt.Sprintf("ss=%d", i))},
				{Key: "X-Tenant", Value: []byte("acme")},
				{Key: "secret", Value: []byte("no")},
			}
		case 1: // only headers that are not copied
			msgs[i].Headers = []schemas.Header{{Key: "secret", Value: []byte("no")}}
		}
	}
	src := newFakeSource(msgs, false)
	sink := &recordingSink{}
	e, err := New(Config{Spec: mustSpec(t), Policy: Policy{MaxRows: 16, MaxBytes: 1 << 20, MaxWait: time.Millisecond}, CopyHeaders: []string{"x-tenant", " "}}, src, sumScorer{}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(sink.scored) != 36 || len(sink.dead) != 4 {
		t.Fatalf("scored %d, dead %d; want 36 and 4", len(sink.scored), len(sink.dead))
	}
	for _, m := range sink.scored {
		var i int
		fmt.Sscanf(scoredID.FindStringSubmatch(string(m.Value))[1], "e%d", &i)
		var want []schemas.Header
		if i%4 == 0 {
			want = []schemas.Header{{Key: "traceparent", Value: []byte(tp)}, {Key: "tracestate", Value: []byte(fmt.Sprintf("ss=%d", i))}, {Key: "X-Tenant", Value: []byte("acme")}}
		}
		if got := fmt.Sprintf("%q", m.Headers); got != fmt.Sprintf("%q", want) {
			t.Errorf("event e%d headers = %s, want %s", i, got, fmt.Sprintf("%q", want))
		}
	}
	// Dead letters keep every input header (then add their own).
	for _, d := range sink.dead {
		var i int
		fmt.Sscanf(idPattern.FindStringSubmatch(string(d.Msg.Value))[1], "e%d", &i)
		hs := d.Headers()
		if i%4 == 1 && (len(hs) == 0 || hs[0].Key != "secret") {
			t.Errorf("dead letter e%d headers = %q, want the input's first", i, hs)
		}
	}
}

func BenchmarkHeaderFilter(b *testing.B) {
	f := newHeaderFilter([]string{"x-tenant"})
	m := schemas.Message{Headers: []schemas.Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}, {Key: "content-type", Value: []byte("json")}}}
	arena := make([]schemas.Header, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		arena = arena[:0]
		for range 1024 {
			arena, _ = f.appendAllowed(arena, &m, 1024)
		}
	}
	b.ReportMetric(float64(b.N*1024)/b.Elapsed().Seconds(), "rows/s")
}

// TestEngineShadowEventsKeepTraceHeaders checks that the challenger's
// shadow events carry the copied headers of their input, as the champion's
// scored events do, with values that do not alias the input record (the
// shadow sink keeps them past the batch).
func TestEngineShadowEventsKeepTraceHeaders(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	msgs := stream(32, 2, 10, 0)
	for i := range msgs {
		if i%2 == 0 {
			msgs[i].Headers = []schemas.Header{{Key: "traceparent", Value: []byte(tp)}, {Key: "secret", Value: []byte("no")}}
		}
	}
	src := newFakeSource(msgs, false)
	sink := &recordingSink{}
	shadow := &shadowSink{}
	e, err := New(Config{Spec: mustSpec(t), Policy: Policy{MaxRows: 8, MaxBytes: 1 << 20, MaxWait: time.Millisecond}, Shadow: shadow}, src, challengedScorer{}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(shadow.msgs) != len(sink.scored) || len(shadow.msgs) == 0 {
		t.Fatalf("%d shadow events for %d scored events", len(shadow.msgs), len(sink.scored))
	}
	for _, m := range shadow.msgs {
		var i int
		fmt.Sscanf(scoredID.FindStringSubmatch(string(m.Value))[1], "e%d", &i)
		var want []schemas.Header
		if i%2 == 0 {
			want = []schemas.Header{{Key: "traceparent", Value: []byte(tp)}}
		}
		if got := fmt.Sprintf("%q", m.Headers); got != fmt.Sprintf("%q", want) {
			t.Errorf("shadow event e%d headers = %s, want %s", i, got, fmt.Sprintf("%q", want))
		}
	}
	// The values are copies: scribbling over the inputs leaves them intact.
	for i := range msgs {
		for _, h := range msgs[i].Headers {
			clear(h.Value)
		}
	}
	for _, m := range shadow.msgs {
		for _, h := range m.Headers {
			if string(h.Value) != tp {
				t.Fatalf("a shadow event's traceparent changed with its input: %q", h.Value)
			}
		}
	}
}
