package producers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// Coordinator error codes of the Kafka protocol.
const (
	coordinatorLoadInProgress = 14 // COORDINATOR_LOAD_IN_PROGRESS
	coordinatorNotAvailable   = 15 // COORDINATOR_NOT_AVAILABLE
	notCoordinator            = 16 // NOT_COORDINATOR
	concurrentTransactions    = 51 // CONCURRENT_TRANSACTIONS
)

// TestTxnRetriesCoordinatorErrors answers each transactional request once
// with an error a coordinator gives while it loads, moves or is not
// elected yet: the transaction must still commit, once, with its offsets,
// and nothing may abort. A single broker cannot move its coordinator, so
// the errors are injected (kfake) rather than caused.
func TestTxnRetriesCoordinatorErrors(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out", "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	injected := map[string]int16{}
	inject := func(key kmsg.Key, code int16, answer func(req kmsg.Request) kmsg.Response) {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			mu.Lock()
			injected[key.Name()] = code
			mu.Unlock()
			return answer(req), nil, true
		})
	}
	inject(kmsg.InitProducerID, coordinatorLoadInProgress, func(req kmsg.Request) kmsg.Response {
		r := req.(*kmsg.InitProducerIDRequest).ResponseKind().(*kmsg.InitProducerIDResponse)
		r.ErrorCode = coordinatorLoadInProgress
		return r
	})
	inject(kmsg.AddPartitionsToTxn, notCoordinator, func(req kmsg.Request) kmsg.Response {
		q := req.(*kmsg.AddPartitionsToTxnRequest)
		r := q.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
		for _, tp := range q.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, notCoordinator
				rt.Partitions = append(rt.Partitions, rp)
			}
			r.Topics = append(r.Topics, rt)
		}
		return r
	})
	inject(kmsg.AddOffsetsToTxn, coordinatorNotAvailable, func(req kmsg.Request) kmsg.Response {
		r := req.(*kmsg.AddOffsetsToTxnRequest).ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		r.ErrorCode = coordinatorNotAvailable
		return r
	})
	inject(kmsg.TxnOffsetCommit, coordinatorLoadInProgress, func(req kmsg.Request) kmsg.Response {
		q := req.(*kmsg.TxnOffsetCommitRequest)
		r := q.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, tp := range q.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, coordinatorLoadInProgress
				rt.Partitions = append(rt.Partitions, rp)
			}
			r.Topics = append(r.Topics, rt)
		}
		return r
	})
	inject(kmsg.EndTxn, notCoordinator, func(req kmsg.Request) kmsg.Response {
		r := req.(*kmsg.EndTxnRequest).ResponseKind().(*kmsg.EndTxnResponse)
		r.ErrorCode = notCoordinator
		return r
	})

	brokers := c.ListenAddrs()
	s, err := producers.NewTxn(producers.TxnConfig{
		Config:   producers.Config{Brokers: brokers, Topic: "out"},
		Delivery: producers.DeliveryConfig{Mode: producers.ExactlyOnce, TransactionalID: "coordinator-errors"},
		GroupID:  "g",
		Member:   func() (producers.Member, bool) { return producers.Member{GenerationID: -1, Epoch: 1}, true },
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Init(ctx); err != nil {
		t.Fatalf("Init through COORDINATOR_LOAD_IN_PROGRESS: %v", err)
	}
	defer s.Close()
	in := &schemas.Message{Topic: "in", Offset: 0, Epoch: 1}
	ch := make(chan error, 1)
	s.PublishTxn(ctx, []schemas.Message{{Key: []byte("k"), Value: []byte("a"), Origin: in}}, nil,
		[]schemas.Span{{Topic: "in", Epoch: 1, Prev: -1, Last: 0, Count: 1}}, func(err error) { ch <- err })
	if err := <-ch; err != nil {
		t.Fatalf("the transaction did not commit through the coordinator errors: %v", err)
	}
	// Settle waits for the committed transaction's markers: InitProducerID
	// with the producer's id and epoch, answered CONCURRENT_TRANSACTIONS
	// while the coordinator writes them (three times here), then a bump.
	// A second Settle with no commit since has nothing to wait for.
	bumps, busy := 0, 3
	c.ControlKey(int16(kmsg.InitProducerID), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		q := req.(*kmsg.InitProducerIDRequest)
		if q.ProducerID < 0 {
			return nil, nil, false
		}
		mu.Lock()
		defer mu.Unlock()
		bumps++
		if busy > 0 {
			busy--
			r := q.ResponseKind().(*kmsg.InitProducerIDResponse)
			r.ErrorCode = concurrentTransactions
			return r, nil, true
		}
		return nil, nil, false
	})
	for range 2 {
		if err := s.Settle(ctx); err != nil {
			t.Fatalf("Settle: %v", err)
		}
	}
	mu.Lock()
	if bumps != 4 || busy != 0 {
		t.Errorf("Settle sent %d InitProducerID with the producer's id (%d answered CONCURRENT_TRANSACTIONS left), want 4: three refused, one bump, none for the second Settle", bumps, busy)
	}
	mu.Unlock()
	if err := s.Publish(ctx, []schemas.Message{{Key: []byte("k"), Value: []byte("b")}}, nil); err != nil {
		t.Fatalf("a transaction after Settle: %v", err)
	}

	mu.Lock()
	for _, k := range []kmsg.Key{kmsg.InitProducerID, kmsg.AddPartitionsToTxn, kmsg.AddOffsetsToTxn, kmsg.TxnOffsetCommit, kmsg.EndTxn} {
		if _, ok := injected[k.Name()]; !ok {
			t.Errorf("%s was never answered with the injected error", k.Name())
		}
	}
	mu.Unlock()

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
	if got[0] != "a" || got[1] != "b" {
		t.Fatalf("read_committed read %q, want a then b, each once", got)
	}
	rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer rcancel()
	if m, err := r.FetchMessage(rctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third record %q (%v): a retried request was applied twice", m.Value, err)
	}
	cl := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: "g", Topics: map[string][]int{"in": {0}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Topics["in"]; len(p) != 1 || p[0].CommittedOffset != 1 {
		t.Fatalf("committed offsets %+v, want in/0 at 1", res.Topics["in"])
	}
}
