package producers

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestFeedValuesWritesThemAsTheyAre feeds binary values (not lines) and
// reads them back from the topic byte for byte, in order.
func TestFeedValuesWritesThemAsTheyAre(t *testing.T) {
	brokers := emptyCluster(t)
	createTopic(t, brokers, "bin", 0)
	values := [][]byte{{0, 0, 0, 0, 1, '\n', 2}, {0}, bytes.Repeat([]byte{0xff, '\n'}, 300)}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Balancer: &kafka.RoundRobin{}, BatchTimeout: time.Millisecond}
	defer w.Close()
	n, err := FeedFile(t.Context(), w, "", FeedConfig{Topic: "bin", BatchSize: 2, Values: func(_ context.Context, fn func(int64, []byte) error) error {
		buf := make([]byte, 0, 1024)
		for i, v := range values {
			buf = append(buf[:0], v...) // reused, as a frame reader does
			if err := fn(int64(i+1), buf); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil || n != int64(len(values)) {
		t.Fatalf("fed %d values (%v), want %d", n, err, len(values))
	}
	got := map[string]bool{}
	for p := range 4 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: "bin", Partition: p, MaxWait: 50 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				break
			}
			if m.Key != nil {
				t.Errorf("a fed value carries key %q, want none", m.Key)
			}
			got[string(m.Value)] = true
		}
		cancel()
		r.Close()
	}
	for _, v := range values {
		if !got[string(v)] {
			t.Errorf("value %q is not on the topic as written", v)
		}
	}
	if len(got) != len(values) {
		t.Errorf("%d distinct values on the topic, want %d", len(got), len(values))
	}
}
