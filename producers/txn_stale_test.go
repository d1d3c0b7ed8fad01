package producers_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// TestTxnKeepsTheCurrentEpochOfABatch: batches fetched before a rewind
// are dropped; a batch straddling it publishes its current part only.
func TestTxnKeepsTheCurrentEpochOfABatch(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out", "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	s, err := producers.NewTxn(producers.TxnConfig{
		Config:   producers.Config{Brokers: brokers, Topic: "out"},
		Delivery: producers.DeliveryConfig{Mode: producers.ExactlyOnce, TransactionalID: "stale"},
		GroupID:  "g",
		Member:   func() (producers.Member, bool) { return producers.Member{GenerationID: -1, Epoch: 2}, true },
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := func(epochs ...uint64) ([]schemas.Message, []schemas.Span) {
		var out []schemas.Message
		var spans []schemas.Span
		for i, ep := range epochs {
			in := &schemas.Message{Topic: "in", Offset: int64(i), Epoch: ep}
			out = append(out, schemas.Message{Key: []byte("k"), Value: []byte{byte('a' + i)}, Origin: in})
			spans = append(spans, schemas.Span{Topic: "in", Epoch: ep, Prev: int64(i) - 1, Last: int64(i), Count: 1})
		}
		return out, spans
	}
	publish := func(scored []schemas.Message, spans []schemas.Span) error {
		ch := make(chan error, 1)
		s.PublishTxn(ctx, scored, nil, spans, func(err error) { ch <- err })
		return <-ch
	}
	var ab interface{ Aborted() bool }
	if err := publish(batch(1, 1)); !errors.As(err, &ab) {
		t.Fatalf("a stale batch: %v, want an aborted error", err)
	}
	if err := publish(batch(1, 2, 2)); err != nil {
		t.Fatalf("a straddling batch: %v", err)
	}
	r := consumers.NewPartitionReader(consumers.PartitionReaderConfig{Brokers: brokers, Topic: "out", Offset: kafka.FirstOffset, Isolation: consumers.ReadCommitted, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var got []string
	for len(got) < 2 {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("reading after %q: %v", got, err)
		}
		got = append(got, string(m.Value))
	}
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("committed %q, want the current epoch's b and c", got)
	}
}
