//go:build integration

package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestRateDeliversEveryEventByKey runs the open-loop producer against the
// broker: every event sent is on the topic once, on the partition its key
// hashes to (kafka-go's Murmur2 balancer, as the scorer's writer places
// keyed events), and it carries its send time.
func TestRateDeliversEveryEventByKey(t *testing.T) {
	brokers := servicetest.Brokers(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	topic := fmt.Sprintf("it-rate.%d", time.Now().UnixNano())
	if err := CreateTopics(ctx, brokers, 4, 0, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DeleteTopics(context.Background(), brokers, topic) })
	res, err := Rate(ctx, brokers, topic, 2000, 2*time.Second, NewEvents(7))
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 4000 || res.Failed != 0 {
		t.Fatalf("sent %d, failed %d; want 4000 sent, none failed", res.Sent, res.Failed)
	}
	var balancer kafka.Murmur2Balancer
	parts := []int{0, 1, 2, 3}
	seen := 0
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
		for {
			fctx, fcancel := context.WithTimeout(ctx, time.Second)
			m, err := r.ReadMessage(fctx)
			fcancel()
			if err != nil {
				break
			}
			seen++
			if want := balancer.Balance(m, parts...); want != p {
				t.Fatalf("key %q on partition %d, want %d", m.Key, p, want)
			}
			if _, ok := SentMicros(m.Value); !ok {
				t.Fatalf("event without a send time: %s", m.Value)
			}
		}
		r.Close()
	}
	if seen != 4000 {
		t.Fatalf("read %d events back, want 4000", seen)
	}
}
