package load

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

// maxProduceRecords caps the records of one produce request of openLoop
// (about 560 KiB of standard events, under the broker's default limit on
// a record batch).
const maxProduceRecords = 1024

// openLoop is Rate's producer: per leader broker one goroutine with at
// most one produce request in flight, carrying every partition of that
// leader with due events; the events that come due while it is in flight
// go out together in the next one, as librdkafka's linger, in-flight
// limit and per-broker produce requests do.
//
// kafka-go's Writer is not used here because it queues: it closes a
// partition's batch when BatchTimeout passes and writes a partition's
// batches one after the other, so at a steady rate with a short timeout
// every batch holds an event or two and they queue behind one another's
// round trips (at 2,000 events/s over 8 partitions with a 1 ms timeout,
// 1.6 s from an event's due time to its write on this machine), while a
// long timeout holds every event for the timeout. Either way the latency
// measured would be the generator's. It also sends one request per
// partition, which at low rates costs the broker more than the events.
type openLoop struct {
	tr      *kafka.Transport
	addr    net.Addr
	topic   string
	parts   []int
	queues  map[int]*leaderQueue // by partition
	leaders []*leaderQueue
	ctx     context.Context
	wg      sync.WaitGroup

	failed   atomic.Int64
	errOnce  sync.Once
	firstErr error
	balancer kafka.Murmur2Balancer
}

// leaderQueue holds the events that are due and not yet sent to one
// leader's partitions.
type leaderQueue struct {
	mu      sync.Mutex
	pending map[int][]kafka.Record // by partition
	n       int
	closed  bool
	wake    chan struct{}
}

func newOpenLoop(ctx context.Context, brokers []string, topic string) (*openLoop, error) {
	tr := newTransport()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("looking up %s's leaders: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	o := &openLoop{tr: tr, addr: client.Addr, topic: topic, ctx: ctx, queues: map[int]*leaderQueue{}}
	byLeader := map[int]*leaderQueue{}
	for _, p := range md.Topics[0].Partitions {
		q := byLeader[p.Leader.ID]
		if q == nil {
			q = &leaderQueue{pending: map[int][]kafka.Record{}, wake: make(chan struct{}, 1)}
			byLeader[p.Leader.ID] = q
			o.leaders = append(o.leaders, q)
		}
		o.queues[p.ID] = q
		o.parts = append(o.parts, p.ID)
	}
	slices.Sort(o.parts)
	for _, q := range o.leaders {
		o.wg.Go(func() { o.send(q) })
	}
	return o, nil
}

// add queues msgs, each on the partition its key hashes to (as the
// scorer's own writer places keyed events).
func (o *openLoop) add(msgs []kafka.Message) {
	for i := range msgs {
		m := &msgs[i]
		p := o.balancer.Balance(*m, o.parts...)
		q := o.queues[p]
		q.mu.Lock()
		q.pending[p] = append(q.pending[p], kafka.Record{Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value)})
		q.n++
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// send is one leader's loop: it waits for due events and sends all that
// are queued (up to maxProduceRecords per partition) in one request,
// until close.
func (o *openLoop) send(q *leaderQueue) {
	type part struct {
		p    int
		recs []kafka.Record
	}
	var batch []part
	for {
		q.mu.Lock()
		for q.n == 0 && !q.closed {
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if q.n == 0 {
			q.mu.Unlock()
			return
		}
		batch = batch[:0]
		for p, pending := range q.pending {
			if len(pending) == 0 {
				continue
			}
			n := min(len(pending), maxProduceRecords)
			batch = append(batch, part{p, slices.Clone(pending[:n])})
			q.pending[p] = append(pending[:0], pending[n:]...)
			q.n -= n
		}
		q.mu.Unlock()
		now := time.Now()
		req := &produceAPI.Request{Acks: int16(kafka.RequireAll), Timeout: 30000,
			Topics: []produceAPI.RequestTopic{{Topic: o.topic, Partitions: make([]produceAPI.RequestPartition, len(batch))}}}
		for i, b := range batch {
			for j := range b.recs {
				b.recs[j].Time = now
			}
			req.Topics[0].Partitions[i] = produceAPI.RequestPartition{Partition: int32(b.p),
				RecordSet: protocol.RecordSet{Version: 2, Records: protocol.NewRecordReader(b.recs...)}}
		}
		ctx, cancel := context.WithTimeout(o.ctx, 30*time.Second)
		res, err := o.tr.RoundTrip(ctx, o.addr, req)
		cancel()
		failed := map[int32]error{}
		if err == nil {
			for _, t := range res.(*produceAPI.Response).Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 {
						failed[p.Partition] = kafka.Error(p.ErrorCode)
					}
				}
			}
		}
		for _, b := range batch {
			perr := err
			if perr == nil {
				perr = failed[int32(b.p)]
			}
			if perr != nil {
				o.failed.Add(int64(len(b.recs)))
				o.errOnce.Do(func() { o.firstErr = fmt.Errorf("producing to %s/%d: %w", o.topic, b.p, perr) })
			}
		}
	}
}

// close sends what is queued, waits for every request and returns the
// events that failed and the first error.
func (o *openLoop) close() (int64, error) {
	for _, q := range o.leaders {
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
