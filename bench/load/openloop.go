package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
)

// maxProduceRecords caps the records of one produce request of openLoop
// (about 560 KiB of standard events, under the broker's default limit on
// a record batch).
const maxProduceRecords = 1024

// openLoop is Rate's producer: per partition one goroutine with at most
// one produce request in flight, and the events that come due while it is
// in flight go out together in the next one, as librdkafka's linger and
// in-flight limit do.
//
// kafka-go's Writer is not used here because it queues: it closes a
// partition's batch when BatchTimeout passes and writes a partition's
// batches one after the other, so at a steady rate with a short timeout
// every batch holds an event or two and they queue behind one another's
// round trips (at 2,000 events/s over 8 partitions with a 1 ms timeout,
// 1.6 s from an event's due time to its write on this machine), while a
// long timeout holds every event for the timeout. Either way the latency
// measured would be the generator's.
type openLoop struct {
	client *kafka.Client
	topic  string
	parts  []int
	queues map[int]*partQueue // by partition
	ctx    context.Context
	wg     sync.WaitGroup

	failed   atomic.Int64
	errOnce  sync.Once
	firstErr error
	balancer kafka.Murmur2Balancer
}

// partQueue holds one partition's events that are due and not yet sent.
type partQueue struct {
	mu      sync.Mutex
	pending []kafka.Record
	closed  bool
	wake    chan struct{}
}

func newOpenLoop(ctx context.Context, brokers []string, topic string) (*openLoop, error) {
	parts, err := consumers.Partitions(ctx, nil, brokers, topic)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	o := &openLoop{
		client: &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: newTransport()},
		topic:  topic, parts: parts, ctx: ctx, queues: map[int]*partQueue{},
	}
	for _, p := range parts {
		q := &partQueue{wake: make(chan struct{}, 1)}
		o.queues[p] = q
		o.wg.Go(func() { o.send(p, q) })
	}
	return o, nil
}

// add queues msgs, each on the partition its key hashes to (as the
// scorer's own writer places keyed events).
func (o *openLoop) add(msgs []kafka.Message) {
	for i := range msgs {
		m := &msgs[i]
		q := o.queues[o.balancer.Balance(*m, o.parts...)]
		q.mu.Lock()
		q.pending = append(q.pending, kafka.Record{Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value)})
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// send is partition p's loop: it waits for due events and sends all that
// are queued (up to maxProduceRecords) in one request, until close.
func (o *openLoop) send(p int, q *partQueue) {
	var batch []kafka.Record
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		n := min(len(q.pending), maxProduceRecords)
		batch = append(batch[:0], q.pending[:n]...)
		q.pending = append(q.pending[:0], q.pending[n:]...)
		q.mu.Unlock()
		now := time.Now()
		for i := range batch {
			batch[i].Time = now
		}
		res, err := o.client.Produce(o.ctx, &kafka.ProduceRequest{
			Topic: o.topic, Partition: p, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(batch...),
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err != nil {
			o.failed.Add(int64(len(batch)))
			o.errOnce.Do(func() { o.firstErr = fmt.Errorf("producing to %s/%d: %w", o.topic, p, err) })
		}
	}
}

// close sends what is queued, waits for every request and returns the
// events that failed and the first error.
func (o *openLoop) close() (int64, error) {
	for _, q := range o.queues {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	o.wg.Wait()
	return o.failed.Load(), o.firstErr
}
