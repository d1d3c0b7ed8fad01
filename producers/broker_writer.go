package producers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

// Requests is how the writer groups records into Produce requests.
type Requests string

const (
	// PerPartition is kafka-go's Writer: one Produce request per
	// partition batch, a partition's batches one after the other.
	PerPartition Requests = "per_partition"
	// PerBroker sends one Produce request per leader broker at a time,
	// carrying every partition of that broker with records waiting, as
	// librdkafka and the Java client do. At low rates a micro-batch spread
	// over many partitions costs the broker one request instead of one
	// per partition.
	PerBroker Requests = "per_broker"
)

// ParseRequests checks a producer.requests value; empty means PerPartition.
func ParseRequests(s string) (Requests, error) {
	switch r := Requests(s); r {
	case "":
		return PerPartition, nil
	case PerPartition, PerBroker:
		return r, nil
	}
	return "", fmt.Errorf("%q is not per_partition or per_broker", s)
}

// asyncWriter is what Writer publishes batches through: kafka-go's Writer
// (Async, with Writer.completed as its Completion) or a brokerWriter.
type asyncWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// brokerWriter writes records with one Produce request per leader broker
// at a time. Records are placed on partitions by kafka-go's Murmur2
// balancer, as the Writer places them. One loop takes, in rounds, what
// waits on every partition (up to the batch size and bytes per
// partition), sends each leader's share in one request, all leaders at
// once, and waits for every answer before the next round, so a
// partition's records are written in the order they were handed over.
// Each partition's records of a round complete together, with that
// partition's error. A leadership error makes the next round look the
// leaders up on a new transport.
type brokerWriter struct {
	cfg        *Config
	batchSize  func() int
	batchBytes int
	codec      kafka.Compression
	timeout    time.Duration
	completion func([]kafka.Message, error)
	balancer   kafka.Murmur2Balancer

	mu      sync.Mutex
	tr      *kafka.Transport
	client  *kafka.Client
	meta    map[string]topicMeta
	pending map[topicPart][]kafka.Message
	order   []topicPart // partitions with records waiting, oldest first
	n       int
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	// tries counts a partition's failed attempts in a row (retriable
	// errors, retried in order before anything later on the partition).
	tries map[topicPart]int
}

// brokerTries is how many times a partition's records are sent, in order,
// before a retriable error completes them (the Writer then retries them
// after its backoff, possibly behind later records).
const brokerTries = 3

// topicMeta is a topic's partitions and their leaders.
type topicMeta struct {
	parts  []int
	leader map[int]int
	at     time.Time
}

func newBrokerWriter(cfg *Config, batchSize func() int, completion func([]kafka.Message, error)) *brokerWriter {
	w := &brokerWriter{
		cfg: cfg, batchSize: batchSize, batchBytes: int(cfg.BatchBytes), codec: codecs[cfg.Compression],
		timeout: cfg.WriteTimeout, completion: completion,
		meta: map[string]topicMeta{}, pending: map[topicPart][]kafka.Message{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), tries: map[topicPart]int{},
	}
	if w.batchBytes <= 0 {
		w.batchBytes = defaultBatchBytes
	}
	if w.timeout <= 0 {
		w.timeout = 10 * time.Second
	}
	w.connect()
	go w.run()
	return w
}

// connect replaces the transport (under mu or before run): kafka-go's
// Transport routes requests by metadata it caches for 6 s, so after a
// leader moves only a new one sees the move at once.
func (w *brokerWriter) connect() {
	if w.tr != nil {
		w.tr.CloseIdleConnections()
	}
	w.tr = &kafka.Transport{}
	if t := w.cfg.Transport; t != nil {
		w.tr = &kafka.Transport{Dial: t.Dial, DialTimeout: t.DialTimeout, IdleTimeout: t.IdleTimeout, ClientID: t.ClientID, TLS: t.TLS, SASL: t.SASL, Resolver: t.Resolver, Context: t.Context}
	}
	w.client = &kafka.Client{Addr: kafka.TCP(w.cfg.Brokers...), Transport: w.tr, Timeout: w.timeout}
	w.meta = map[string]topicMeta{}
}

// topic returns topic's partitions and leaders, asking the brokers when
// what is known is older than metadataTTL.
func (w *brokerWriter) topic(ctx context.Context, topic string) (topicMeta, error) {
	w.mu.Lock()
	m, ok := w.meta[topic]
	client := w.client
	w.mu.Unlock()
	if ok && time.Since(m.at) < metadataTTL {
		return m, nil
	}
	res, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return topicMeta{}, err
	}
	for _, t := range res.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return topicMeta{}, fmt.Errorf("topic %s: %w", topic, t.Error)
		}
		m = topicMeta{leader: map[int]int{}, at: time.Now()}
		for _, p := range t.Partitions {
			m.parts = append(m.parts, p.ID)
			m.leader[p.ID] = p.Leader.ID
		}
		if len(m.parts) == 0 {
			break
		}
		w.mu.Lock()
		if w.client == client {
			w.meta[topic] = m
		}
		w.mu.Unlock()
		return m, nil
	}
	return topicMeta{}, fmt.Errorf("topic %s: %w", topic, kafka.UnknownTopicOrPartition)
}

// WriteMessages queues msgs, each on its key's partition, and returns; the
// completion function is called as their requests are answered. It fails,
// queueing nothing, when a topic's partitions cannot be learnt.
func (w *brokerWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	parts := map[string][]int{}
	for i := range msgs {
		t := msgs[i].Topic
		if _, ok := parts[t]; !ok {
			m, err := w.topic(ctx, t)
			if err != nil {
				return err
			}
			parts[t] = m.parts
		}
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errors.New("writer closed")
	}
	for i := range msgs {
		m := msgs[i]
		m.Partition = w.balancer.Balance(m, parts[m.Topic]...)
		tp := topicPart{m.Topic, m.Partition}
		if len(w.pending[tp]) == 0 {
			w.order = append(w.order, tp)
		}
		w.pending[tp] = append(w.pending[tp], m)
	}
	w.n += len(msgs)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close sends what waits and returns once every record completed.
func (w *brokerWriter) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	w.mu.Lock()
	w.tr.CloseIdleConnections()
	w.mu.Unlock()
	return nil
}

// chunk is one partition's records of a round.
type chunk struct {
	tp   topicPart
	msgs []kafka.Message
}

func (w *brokerWriter) run() {
	defer close(w.done)
	for {
		round, ok := w.take()
		if !ok {
			return
		}
		regroup, retry := w.send(round)
		if regroup {
			w.mu.Lock()
			w.connect()
			w.mu.Unlock()
		}
		if retry > 0 {
			time.Sleep(50 * time.Millisecond << (retry - 1))
		}
	}
}

// retry puts c's records back before anything else waiting on its
// partition, unless the partition has failed brokerTries times in a row;
// it reports the attempt, 0 when the records are not retried here.
func (w *brokerWriter) retry(c chunk, err error) int {
	if permanent(err) {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tries[c.tp]++
	n := w.tries[c.tp]
	if n >= brokerTries || w.closed {
		delete(w.tries, c.tp)
		return 0
	}
	if len(w.pending[c.tp]) == 0 {
		w.order = append([]topicPart{c.tp}, w.order...)
	}
	w.pending[c.tp] = append(c.msgs[:len(c.msgs):len(c.msgs)], w.pending[c.tp]...)
	w.n += len(c.msgs)
	return n
}

// complete completes c with err, or queues it again (see retry); it
// returns the attempt when queued again.
func (w *brokerWriter) complete(c chunk, err error) int {
	if err != nil {
		if n := w.retry(c, err); n > 0 {
			return n
		}
	} else {
		w.mu.Lock()
		delete(w.tries, c.tp)
		w.mu.Unlock()
	}
	w.completion(c.msgs, err)
	return 0
}

// take waits for records and takes, from every partition with records
// waiting, up to the batch size and bytes; false once closed and empty.
func (w *brokerWriter) take() ([]chunk, bool) {
	w.mu.Lock()
	for w.n == 0 && !w.closed {
		w.mu.Unlock()
		<-w.wake
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if w.n == 0 {
		return nil, false
	}
	size := w.batchSize()
	round := make([]chunk, 0, len(w.order))
	left := w.order[:0]
	for _, tp := range w.order {
		q := w.pending[tp]
		k, bytes := 0, 0
		for k < len(q) && k < size {
			b := recordSize(&q[k])
			if k > 0 && bytes+b > w.batchBytes {
				break
			}
			bytes += b
			k++
		}
		round = append(round, chunk{tp, q[:k:k]})
		w.n -= k
		if k < len(q) {
			w.pending[tp] = q[k:]
			left = append(left, tp)
		} else {
			delete(w.pending, tp)
		}
	}
	w.order = left
	return round, true
}

// send writes a round, one request per leader, and completes every
// record or queues it again; it reports whether a leadership error calls
// for a new transport, and the highest attempt queued again.
func (w *brokerWriter) send(round []chunk) (regroup bool, retry int) {
	byLeader := map[int][]chunk{}
	for _, c := range round {
		m, err := w.topic(context.Background(), c.tp.topic)
		leader, ok := m.leader[c.tp.partition]
		if err == nil && !ok {
			err = fmt.Errorf("%s/%d: %w", c.tp.topic, c.tp.partition, kafka.LeaderNotAvailable)
		}
		if err != nil {
			retry = max(retry, w.complete(c, err))
			regroup = true
			continue
		}
		byLeader[leader] = append(byLeader[leader], c)
	}
	w.mu.Lock()
	tr, addr := w.tr, w.client.Addr
	w.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, cs := range byLeader {
		wg.Go(func() {
			rg, rt := w.produce(tr, addr, cs)
			mu.Lock()
			regroup = regroup || rg
			retry = max(retry, rt)
			mu.Unlock()
		})
	}
	wg.Wait()
	return regroup, retry
}

// produce sends one leader's chunks in one request and completes them.
func (w *brokerWriter) produce(tr *kafka.Transport, addr net.Addr, cs []chunk) (regroup bool, retry int) {
	now := time.Now()
	byTopic := map[string]int{}
	req := &produceAPI.Request{Acks: int16(kafka.RequireAll), Timeout: int32(w.timeout / time.Millisecond)}
	for _, c := range cs {
		recs := make([]protocol.Record, len(c.msgs))
		for i := range c.msgs {
			m := &c.msgs[i]
			if m.Time.IsZero() {
				m.Time = now
			}
			recs[i] = protocol.Record{Time: m.Time, Key: bytesOrNil(m.Key), Value: bytesOrNil(m.Value), Headers: m.Headers}
		}
		ti, ok := byTopic[c.tp.topic]
		if !ok {
			ti = len(req.Topics)
			byTopic[c.tp.topic] = ti
			req.Topics = append(req.Topics, produceAPI.RequestTopic{Topic: c.tp.topic})
		}
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, produceAPI.RequestPartition{
			Partition: int32(c.tp.partition),
			RecordSet: protocol.RecordSet{Version: 2, Attributes: protocol.Attributes(w.codec) & 7, Records: protocol.NewRecordReader(recs...)},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout+time.Second)
	res, err := tr.RoundTrip(ctx, addr, req)
	cancel()
	errs := map[topicPart]error{}
	if err == nil {
		for _, t := range res.(*produceAPI.Response).Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					perr := kafka.Error(p.ErrorCode)
					errs[topicPart{t.Topic, int(p.Partition)}] = perr
					if leaderMoved(perr) {
						regroup = true
					}
				}
			}
		}
	} else {
		regroup = true
	}
	for _, c := range cs {
		cerr := err
		if cerr == nil {
			cerr = errs[c.tp]
		}
		retry = max(retry, w.complete(c, cerr))
	}
	return regroup, retry
}

// leaderMoved reports whether a partition error means its leader moved.
func leaderMoved(err kafka.Error) bool {
	switch err {
	case kafka.UnknownTopicOrPartition, kafka.LeaderNotAvailable, kafka.NotLeaderForPartition, kafka.FencedLeaderEpoch, kafka.UnknownLeaderEpoch:
		return true
	}
	return false
}
