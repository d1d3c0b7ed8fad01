package producers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// Config configures a Writer. Names follow kafka-go's Writer.
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string
	// Topic is the scored-event topic.
	Topic string
	// DLQTopic is the dead-letter topic. Empty means dead letters are only
	// counted and logged, never published.
	DLQTopic string
	// BatchTimeout is how long kafka-go waits to fill a partition's batch
	// before sending it. Zero means 100µs. streamscore hands kafka-go a
	// whole micro-batch per call, so there is nothing to wait for: kafka-go's
	// own default (1 s) stalls every publish, and even 2 ms capped publishing
	// at one micro-batch per 2 ms, halving throughput at 64-row batches.
	BatchTimeout time.Duration
	// BatchSize caps records per partition in one produce request. Zero
	// means 1024. kafka-go allocates BatchSize message slots for every
	// partition batch it opens, so a value far above the engine's batch
	// size costs memory and CPU for nothing (10000 cost a third more CPU per
	// event in the benchmarks).
	BatchSize int
	// BatchBytes caps a produce request's size; keep it under the broker's
	// message.max.bytes. Zero means 1000000.
	BatchBytes int64
	// Compression is none, gzip, snappy, lz4 or zstd. Empty means none.
	Compression string
	// WriteTimeout bounds one produce attempt. Zero means 10 s.
	WriteTimeout time.Duration
	// Transport connects to the brokers (TLS, SASL). Nil means kafka-go's
	// default transport.
	Transport *kafka.Transport
}

var codecs = map[string]kafka.Compression{
	"":       0,
	"none":   0,
	"gzip":   kafka.Gzip,
	"snappy": kafka.Snappy,
	"lz4":    kafka.Lz4,
	"zstd":   kafka.Zstd,
}

// Validate reports the first configuration problem.
func (c *Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("brokers: at least one broker address is required")
	case c.Topic == "":
		return errors.New("topics.output: the output topic is required")
	case c.BatchTimeout < 0 || c.BatchSize < 0 || c.BatchBytes < 0 || c.WriteTimeout < 0:
		return errors.New("producer: batch_timeout, batch_size, batch_bytes and write_timeout must not be negative")
	}
	if _, ok := codecs[c.Compression]; !ok {
		return fmt.Errorf("producer.compression: %q is not one of none, gzip, snappy, lz4, zstd", c.Compression)
	}
	return nil
}

// NewKafkaWriter returns a kafka-go Writer with streamscore's settings:
// acks from all in-sync replicas, key-hash partitioning compatible with the
// Java client, small batch timeout, no topic auto-creation. Messages name
// their own topic.
func (c *Config) NewKafkaWriter() *kafka.Writer {
	w := &kafka.Writer{
		Addr:                   kafka.TCP(c.Brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           c.BatchTimeout,
		BatchSize:              c.BatchSize,
		BatchBytes:             c.BatchBytes,
		WriteTimeout:           c.WriteTimeout,
		Compression:            codecs[c.Compression],
		AllowAutoTopicCreation: false,
		MaxAttempts:            3,
	}
	if w.BatchTimeout == 0 {
		w.BatchTimeout = 100 * time.Microsecond
	}
	if w.BatchSize == 0 {
		w.BatchSize = 1024
	}
	if w.BatchBytes == 0 {
		w.BatchBytes = 1000000
	}
	if w.WriteTimeout == 0 {
		w.WriteTimeout = 10 * time.Second
	}
	if c.Transport != nil {
		w.Transport = c.Transport
	}
	return w
}

// Writer publishes scored events and dead letters. Publish is safe for
// concurrent use, but callers that need per-key order must not publish two
// batches holding the same key at once.
type Writer struct {
	cfg Config
	w   *kafka.Writer
	aw  *kafka.Writer // async, for PublishAsync
	log *slog.Logger
	m   *metrics
}

// New returns a Writer for cfg; reg may be nil.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{cfg: cfg, w: cfg.NewKafkaWriter(), aw: cfg.NewKafkaWriter(), log: log.With("component", "producer"), m: newMetrics(reg)}
	w.aw.Async = true
	w.aw.Completion = w.completed
	return w, nil
}

// Publish writes scored events to the output topic and dead letters to the
// dead-letter topic, and returns once every one is acknowledged by all
// in-sync replicas. Failed records are retried with backoff (only the failed
// ones) until they land or ctx is done; it returns an error only then, and
// the caller must not acknowledge the batch.
func (w *Writer) Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error {
	return w.write(ctx, w.records(scored, dead))
}

// records turns a batch's results into kafka-go messages.
func (w *Writer) records(scored []schemas.Message, dead []schemas.DeadLetter) []kafka.Message {
	msgs := make([]kafka.Message, 0, len(scored)+len(dead))
	for i := range scored {
		s := &scored[i]
		msgs = append(msgs, kafka.Message{Topic: w.cfg.Topic, Key: s.Key, Value: s.Value, Headers: kafkaHeaders(s.Headers)})
	}
	for i := range dead {
		d := &dead[i]
		if w.cfg.DLQTopic == "" {
			w.log.Warn("dropping dead letter: no dead-letter topic is configured", "reason", d.Reason, "partition", d.Msg.Partition, "offset", d.Msg.Offset, "err", d.Detail)
			continue
		}
		msgs = append(msgs, kafka.Message{Topic: w.cfg.DLQTopic, Key: d.Msg.Key, Value: d.Msg.Value, Headers: kafkaHeaders(d.Headers()), Time: d.Msg.Time})
	}
	return msgs
}

// kafkaHeaders converts record headers for kafka-go; nil stays nil.
func kafkaHeaders(hs []schemas.Header) []kafka.Header {
	if len(hs) == 0 {
		return nil
	}
	kh := make([]kafka.Header, len(hs))
	for i, h := range hs {
		kh[i] = kafka.Header{Key: h.Key, Value: h.Value}
	}
	return kh
}

// pending is one PublishAsync batch waiting for its acknowledgements.
type pending struct {
	ctx     context.Context
	done    func(error)
	start   time.Time
	attempt int
	left    atomic.Int64

	mu     sync.Mutex
	failed []kafka.Message
	err    error
}

// PublishAsync hands the batch's records to kafka-go at once, in call
// order, and returns; done is called exactly once, from another goroutine,
// when every record is acknowledged by all in-sync replicas (nil), or when
// ctx is done first (its error). Failed records are retried with backoff,
// only the failed ones. Several batches may be in flight: records of one
// partition are written in call order, so a key keeps its order unless a
// write fails and is retried after later batches. Calls must not overlap
// if the caller relies on that order.
func (w *Writer) PublishAsync(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, done func(error)) {
	msgs := w.records(scored, dead)
	if len(msgs) == 0 {
		done(nil)
		return
	}
	p := &pending{ctx: ctx, done: done, start: time.Now()}
	w.enqueue(p, msgs)
}

func (w *Writer) enqueue(p *pending, msgs []kafka.Message) {
	p.attempt++
	p.left.Store(int64(len(msgs)))
	for i := range msgs {
		msgs[i].WriterData = p
	}
	if err := w.aw.WriteMessages(p.ctx, msgs...); err != nil {
		// Nothing was enqueued (e.g. no metadata for the topic yet).
		p.left.Store(0)
		p.failed, p.err = msgs, err
		w.settle(p)
	}
}

// completed is kafka-go's Completion callback for the async writer.
func (w *Writer) completed(msgs []kafka.Message, err error) {
	for i := range msgs {
		p, ok := msgs[i].WriterData.(*pending)
		if !ok {
			continue
		}
		if err != nil {
			p.mu.Lock()
			p.failed = append(p.failed, msgs[i])
			p.err = err
			p.mu.Unlock()
		} else {
			w.m.published.Inc()
		}
		if p.left.Add(-1) == 0 {
			w.settle(p)
		}
	}
}

// settle finishes p once all its records completed: done, or a retry of the
// failed ones after a backoff.
func (w *Writer) settle(p *pending) {
	p.mu.Lock()
	failed, err := p.failed, p.err
	p.failed, p.err = nil, nil
	p.mu.Unlock()
	if len(failed) == 0 {
		w.m.seconds.Observe(time.Since(p.start).Seconds())
		p.done(nil)
		return
	}
	w.m.retries.Inc()
	d := backoff(p.attempt)
	w.log.Warn("publishing failed; retrying", "records", len(failed), "attempt", p.attempt, "backoff", d, "err", err)
	go func() {
		t := time.NewTimer(d)
		select {
		case <-p.ctx.Done():
			t.Stop()
			p.done(fmt.Errorf("publishing: %w", p.ctx.Err()))
		case <-t.C:
			w.enqueue(p, failed)
		}
	}()
}

// backoff returns the wait before retry attempt n (1-based): 50 ms doubling
// to 5 s.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n-1, 7)
	return min(d, 5*time.Second)
}

func (w *Writer) write(ctx context.Context, msgs []kafka.Message) error {
	for attempt := 1; len(msgs) > 0; attempt++ {
		start := time.Now()
		err := w.w.WriteMessages(ctx, msgs...)
		if err == nil {
			w.m.published.Add(float64(len(msgs)))
			w.m.seconds.Observe(time.Since(start).Seconds())
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publishing: %w", ctx.Err())
		}
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			failed := msgs[:0:0]
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, msgs[i])
				}
			}
			w.m.published.Add(float64(len(msgs) - len(failed)))
			msgs = failed
		}
		w.m.retries.Inc()
		d := backoff(attempt)
		w.log.Warn("publishing failed; retrying", "records", len(msgs), "attempt", attempt, "backoff", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("publishing: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Close flushes and closes the underlying writers.
func (w *Writer) Close() error {
	return errors.Join(w.aw.Close(), w.w.Close())
}
