package producers

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// gatedWriter records what it is asked to write; each write waits for a
// value on gate (nil error: written) so a test can hold the queue full.
type gatedWriter struct {
	gate   chan error
	mu     sync.Mutex
	msgs   []kafka.Message
	closed bool
}

func (w *gatedWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	if err := <-w.gate; err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func (w *gatedWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return nil
}

// value reads a counter.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestShadowQueuesDropsAndCounts(t *testing.T) {
	w := &gatedWriter{gate: make(chan error, shadowQueue+8)}
	reg := prometheus.NewRegistry()
	s, err := NewShadow("shadow", w, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	two := func(id string) []schemas.Message {
		return []schemas.Message{{Key: []byte("k" + id), Value: []byte(`{"id":"` + id + `a"}`)}, {Key: []byte("k" + id), Value: []byte(`{"id":"` + id + `b"}`)}}
	}
	// The writer is stuck on the first batch: the queue takes shadowQueue
	// more, and the next one is dropped, never blocking Offer.
	s.Offer(two("first"))
	for len(s.queue) != 0 { // until the writer holds the first batch
	}
	for range shadowQueue {
		s.Offer(two("q"))
	}
	s.Offer(two("dropped"))
	s.Offer(nil) // nothing to write, nothing counted
	if got := value(t, s.dropped.WithLabelValues("queue_full")); got != 2 {
		t.Fatalf("queue_full drops = %v, want 2", got)
	}
	// The first batch fails to write; the rest land.
	w.gate <- errors.New("broker down")
	for range shadowQueue {
		w.gate <- nil
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := value(t, s.dropped.WithLabelValues("write_error")); got != 2 {
		t.Errorf("write_error drops = %v, want 2", got)
	}
	if got := value(t, s.published); got != 2*shadowQueue {
		t.Errorf("published = %v, want %d", got, 2*shadowQueue)
	}
	if len(w.msgs) != 2*shadowQueue || !w.closed {
		t.Fatalf("writer got %d messages (closed %v), want %d and closed", len(w.msgs), w.closed, 2*shadowQueue)
	}
	for _, m := range w.msgs {
		if m.Topic != "shadow" || string(m.Key) != "kq" {
			t.Fatalf("shadow message topic %q key %q", m.Topic, m.Key)
		}
	}
}

func TestShadowWritesHeaders(t *testing.T) {
	w := &gatedWriter{gate: make(chan error, 1)}
	s, err := NewShadow("shadow", w, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	s.Offer([]schemas.Message{
		{Key: []byte("a"), Value: []byte(`{}`), Headers: []schemas.Header{{Key: "traceparent", Value: []byte(tp)}}},
		{Key: []byte("b"), Value: []byte(`{}`)},
	})
	w.gate <- nil
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) != 2 {
		t.Fatalf("writer got %d messages, want 2", len(w.msgs))
	}
	if h := w.msgs[0].Headers; len(h) != 1 || h[0].Key != "traceparent" || string(h[0].Value) != tp {
		t.Errorf("first shadow message headers = %v, want the traceparent alone", h)
	}
	if h := w.msgs[1].Headers; h != nil {
		t.Errorf("second shadow message headers = %v, want none", h)
	}
}

func TestNewShadowNeedsTopicAndWriter(t *testing.T) {
	if _, err := NewShadow("", &gatedWriter{}, nil, nil); err == nil {
		t.Fatal("no error without a topic")
	}
}
