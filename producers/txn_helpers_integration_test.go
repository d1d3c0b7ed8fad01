//go:build integration

package producers_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// txnSink returns an initialised Txn writing to topic, that commits after
// batches batches or a minute.
func txnSink(t *testing.T, brokers []string, topic, id string, batches int) *producers.Txn {
	t.Helper()
	s, err := producers.NewTxn(producers.TxnConfig{
		Config: producers.Config{Brokers: brokers, Topic: topic},
		Delivery: producers.DeliveryConfig{Mode: producers.ExactlyOnce, TransactionalID: id,
			BatchesPerTransaction: batches, TransactionInterval: 30 * time.Second, TransactionTimeout: time.Minute},
		GroupID: "g",
	}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func values(prefix string, n int) []schemas.Message {
	out := make([]schemas.Message, n)
	for i := range out {
		out[i] = schemas.Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%s-%d", prefix, i)}
	}
	return out
}

// readVisible reads partition 0 of topic with iso until idle for 1 s.
func readVisible(t *testing.T, brokers []string, topic string, iso consumers.Isolation, idle time.Duration) []string {
	t.Helper()
	r := consumers.NewPartitionReader(consumers.PartitionReaderConfig{Brokers: brokers, Topic: topic, Offset: kafka.FirstOffset, Isolation: iso, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []string
	for {
		ctx, cancel := context.WithTimeout(t.Context(), idle)
		m, err := r.FetchMessage(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, string(m.Value))
	}
}

// The fencing scenario runs on the real broker only
// (TestTxnFencingAndIsolationOnTheBroker): kfake accepts an epoch bump
// (KIP-360) from a producer whose epoch is stale, so a zombie is not
// fenced there, and it hides aborted records from read_uncommitted
// readers too.

// checkFencing runs the fencing scenario on topic (one partition);
// uncommitted says whether to check what read_uncommitted readers see.
func checkFencing(t *testing.T, brokers []string, topic string, withUncommitted bool) {
	ctx := t.Context()
	start := time.Now()

	old := txnSink(t, brokers, topic, "replica-"+topic, 2)
	first := make(chan error, 1)
	old.PublishTxn(ctx, values("zombie", 3), nil, nil, func(err error) { first <- err })

	// Wait until the open transaction's records are in the log.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if seen := readVisible(t, brokers, topic, consumers.ReadUncommitted, 200*time.Millisecond); len(seen) == 3 || !withUncommitted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the open transaction's records never reached the log")
		}
	}
	// The replica restarts while the old process still runs.
	cur := txnSink(t, brokers, topic, "replica-"+topic, 1)
	if err := cur.Publish(ctx, values("committed", 4), nil); err != nil {
		t.Fatalf("publishing with the new producer: %v", err)
	}
	second := make(chan error, 1)
	old.PublishTxn(ctx, values("late", 2), nil, nil, func(err error) { second <- err })
	for i, ch := range []chan error{first, second} {
		select {
		case err := <-ch:
			t.Logf("old producer's batch %d: %v (after %s)", i+1, err, time.Since(start))
			if !errors.Is(err, producers.ErrFenced) {
				t.Fatalf("old producer's batch %d: got %v, want ErrFenced", i+1, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("old producer's batch %d never completed", i+1)
		}
	}
	if err := old.Publish(ctx, values("after", 1), nil); !errors.Is(err, producers.ErrFenced) {
		t.Fatalf("a fenced producer accepted a batch: %v", err)
	}

	committed := readVisible(t, brokers, topic, consumers.ReadCommitted, time.Second)
	want := []string{"committed-0", "committed-1", "committed-2", "committed-3"}
	if !slices.Equal(committed, want) {
		t.Fatalf("read_committed saw %q, want %q", committed, want)
	}
	t.Logf("fencing took %s", time.Since(start))
	if !withUncommitted {
		return
	}
	uncommitted := readVisible(t, brokers, topic, consumers.ReadUncommitted, time.Second)
	slices.Sort(uncommitted)
	wantAll := []string{"committed-0", "committed-1", "committed-2", "committed-3", "zombie-0", "zombie-1", "zombie-2"}
	if !slices.Equal(uncommitted, wantAll) {
		t.Fatalf("read_uncommitted saw %q, want %q", uncommitted, wantAll)
	}
}

// testLog logs at debug level to stderr when STREAMSCORE_TEST_DEBUG is set.
func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("STREAMSCORE_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
