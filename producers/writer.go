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

	"github.com/streamscore/streamscore/internal/letterlog"
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
	// MaxMessageBytes is the largest record the writer sends (the least of
	// it and BatchBytes applies): a scored event above it becomes a dead
	// letter of its input (too_large when its Kafka key alone is too large,
	// output_rejected otherwise), and a dead letter above it is published
	// truncated. Zero means 1048576, the broker's default message.max.bytes.
	MaxMessageBytes int
	// Compression is none, gzip, snappy, lz4 or zstd. Empty means none.
	Compression string
	// WriteTimeout bounds one produce attempt. Zero means 10 s.
	WriteTimeout time.Duration
	// Transport connects to the brokers (TLS, SASL). Nil means kafka-go's
	// default transport.
	Transport *kafka.Transport
	// Requests is PerPartition (kafka-go's Writer; empty means this) or
	// PerBroker (one Produce request per leader broker at a time).
	Requests Requests
}

// defaultBatchBytes is Config.BatchBytes's zero value.
const defaultBatchBytes = 1000000

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
	case c.BatchTimeout < 0 || c.BatchSize < 0 || c.BatchBytes < 0 || c.WriteTimeout < 0 || c.MaxMessageBytes < 0:
		return errors.New("producer: batch_timeout, batch_size, batch_bytes, max_message_bytes and write_timeout must not be negative")
	case c.MaxMessageBytes > 0 && c.MaxMessageBytes < 4*stubBytes:
		return fmt.Errorf("producer.max_message_bytes: %d is too small to hold a dead letter; use at least %d (the broker's default is 1048576)", c.MaxMessageBytes, 4*stubBytes)
	}
	if _, err := ParseRequests(string(c.Requests)); err != nil {
		return fmt.Errorf("producer.requests: %w", err)
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
		w.BatchBytes = defaultBatchBytes
	}
	if w.WriteTimeout == 0 {
		w.WriteTimeout = 10 * time.Second
	}
	var next kafka.RoundTripper = kafka.DefaultTransport
	if c.Transport != nil {
		next = c.Transport
	}
	w.Transport = newMetadataCache(next)
	return w
}

// Writer publishes scored events and dead letters. Publish is safe for
// concurrent use, but callers that need per-key order must not publish two
// batches holding the same key at once.
//
// A record the broker can never accept does not block its batch: the
// writer classifies each failed record's error. Retriable errors (leader
// changes, timeouts, a topic not yet known) are retried with backoff, only
// the failed records. Permanent ones (message too large, invalid record)
// are retried once alone, in their own produce request, in case the broker
// refused the batch around them; then the record is replaced by a smaller
// form: a scored event by a dead letter of its input (output_rejected, with
// the broker's error), a dead letter by a truncated one, a truncated one by
// its first kilobyte. Only when even that is refused does the batch pause,
// logging at ERROR and setting streamscore_producer_paused, retrying until
// the broker takes it or ctx is done. Every input so ends as exactly one
// record, and nothing is dropped silently.
type Writer struct {
	cfg Config
	w   *kafka.Writer // sync, one record at a time, for records refused for good
	aw  asyncWriter   // for every batch: kw or a brokerWriter
	kw  *kafka.Writer // async kafka-go Writer (Requests per_partition), else nil
	// batchSize is records per partition in one request.
	batchSize int
	log       *slog.Logger
	m         *metrics
	// dropped logs the dead letters dropped for want of a dead-letter
	// topic: the first few in full, then summaries by reason.
	dropped *letterlog.Log
}

// New returns a Writer for cfg; reg may be nil.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{cfg: cfg, w: cfg.NewKafkaWriter(), log: log.With("component", "producer"), m: newMetrics(reg)}
	w.dropped = letterlog.New(w.log, letterlog.Full, letterlog.Interval,
		"dropping dead letter: no dead-letter topic is configured", "dead letters dropped since the last summary: no dead-letter topic is configured")
	w.w.MaxAttempts = 1
	w.batchSize = w.w.BatchSize
	if cfg.Requests == PerBroker {
		w.aw = newBrokerWriter(&w.cfg, func() int { return w.batchSize }, w.completed)
	} else {
		w.kw = cfg.NewKafkaWriter()
		w.kw.Async = true
		w.kw.Completion = w.completed
		w.aw = w.kw
	}
	return w, nil
}

// SetBatchSize sets how many records go in one partition's batch (see
// Config.BatchSize). It must be called before the first Publish.
func (w *Writer) SetBatchSize(n int) {
	if n > 0 {
		w.cfg.BatchSize, w.w.BatchSize, w.batchSize = n, n, n
		if w.kw != nil {
			w.kw.BatchSize = n
		}
	}
}

// BatchSize returns how many records go in one partition's batch.
func (w *Writer) BatchSize() int { return w.batchSize }

// Publish writes scored events to the output topic and dead letters to the
// dead-letter topic, and returns once every one (or the dead letter that
// replaced it) is acknowledged by all in-sync replicas. It returns an
// error only when ctx is done first; the caller must then not acknowledge
// the batch.
func (w *Writer) Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error {
	done := make(chan error, 1)
	w.PublishAsync(ctx, scored, dead, func(err error) { done <- err })
	return <-done
}

// records turns a batch's results into kafka-go messages, each tagged with
// p, after the size guard.
func (w *Writer) records(p *pending, scored []schemas.Message, dead []schemas.DeadLetter) []kafka.Message {
	msgs := make([]kafka.Message, 0, len(scored)+len(dead))
	add := func(m kafka.Message) {
		if recordSize(&m) > w.cfg.limit() {
			var ok bool
			if m, ok = w.guard(m); !ok {
				w.drop(m, "too large and no smaller form can be published")
				return
			}
		}
		msgs = append(msgs, m)
	}
	for i := range scored {
		s := &scored[i]
		add(kafka.Message{Topic: w.cfg.Topic, Key: s.Key, Value: s.Value, Headers: kafkaHeaders(s.Headers), WriterData: &rec{p: p, step: stepScored, origin: s.Origin}})
	}
	for i := range dead {
		d := &dead[i]
		if w.cfg.DLQTopic == "" {
			w.dropped.Add(d)
			continue
		}
		add(w.deadMessage(d, &rec{p: p, step: stepDead, dead: d}))
	}
	return msgs
}

// drop counts and logs, at ERROR, a record that cannot be published in any
// form: a scored event refused for good when there is no dead-letter topic
// (or no input to dead-letter).
func (w *Writer) drop(m kafka.Message, why string) {
	w.m.dropped.Inc()
	r, _ := m.WriterData.(*rec)
	attrs := []any{"topic", m.Topic, "value_bytes", len(m.Value), "key_bytes", len(m.Key), "why", why}
	if r != nil && r.origin != nil {
		attrs = append(attrs, "input_topic", r.origin.Topic, "input_partition", r.origin.Partition, "input_offset", r.origin.Offset)
	}
	if w.cfg.DLQTopic == "" {
		attrs = append(attrs, "fix", "set topics.dlq so such events become dead letters")
	}
	w.log.Error("dropping a record the broker can never accept", attrs...)
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

	mu       sync.Mutex
	failed   []kafka.Message // retriable: retried with backoff
	err      error
	rejected []kafka.Message // refused for good: retried alone, then escalated
	causes   []error
}

// PublishAsync hands the batch's records to kafka-go at once, in call
// order, and returns; done is called exactly once, from another goroutine,
// when every record (or the dead letter that replaced it) is acknowledged
// by all in-sync replicas (nil), or when ctx is done first (its error).
// Several batches may be in flight: records of one partition are written
// in call order, so a key keeps its order unless a write fails and is
// retried after later batches. Calls must not overlap if the caller relies
// on that order.
func (w *Writer) PublishAsync(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, done func(error)) {
	if err := ctx.Err(); err != nil {
		// Nothing is handed to the broker once ctx is done, so the caller
		// never acknowledges records that may not be written.
		done(err)
		return
	}
	p := &pending{ctx: ctx, done: done, start: time.Now()}
	msgs := w.records(p, scored, dead)
	if len(msgs) == 0 {
		done(nil)
		return
	}
	w.enqueue(p, msgs)
}

func (w *Writer) enqueue(p *pending, msgs []kafka.Message) {
	p.attempt++
	p.left.Store(int64(len(msgs)))
	if err := w.aw.WriteMessages(p.ctx, msgs...); err != nil {
		// Nothing was enqueued (no metadata for the topic yet, or a record
		// kafka-go refuses before sending).
		p.left.Store(0)
		p.mu.Lock()
		var tooLarge kafka.MessageTooLargeError
		if errors.As(err, &tooLarge) {
			// The size guard keeps this from happening; should kafka-go
			// measure differently, each record goes alone.
			for i := range msgs {
				p.rejected, p.causes = append(p.rejected, msgs[i]), append(p.causes, err)
			}
		} else {
			p.failed, p.err = msgs, err
		}
		p.mu.Unlock()
		w.settle(p)
	}
}

// completed is kafka-go's Completion callback for the async writer.
func (w *Writer) completed(msgs []kafka.Message, err error) {
	perm := err != nil && permanent(err)
	for i := range msgs {
		r, ok := msgs[i].WriterData.(*rec)
		if !ok {
			continue
		}
		p := r.p
		switch {
		case err == nil:
			w.m.published.Inc()
		case perm:
			p.mu.Lock()
			p.rejected, p.causes = append(p.rejected, msgs[i]), append(p.causes, err)
			p.mu.Unlock()
		default:
			p.mu.Lock()
			p.failed = append(p.failed, msgs[i])
			p.err = err
			p.mu.Unlock()
		}
		if p.left.Add(-1) == 0 {
			w.settle(p)
		}
	}
}

// settle finishes p once all its records completed: done, or a resolution
// of the rejected ones and a retry of the failed ones after a backoff.
func (w *Writer) settle(p *pending) {
	p.mu.Lock()
	failed, err := p.failed, p.err
	rejected, causes := p.rejected, p.causes
	p.failed, p.err, p.rejected, p.causes = nil, nil, nil, nil
	p.mu.Unlock()
	if len(failed) == 0 && len(rejected) == 0 {
		w.m.seconds.Observe(time.Since(p.start).Seconds())
		p.done(nil)
		return
	}
	go func() {
		for i := range rejected {
			if err := w.publishAlone(p.ctx, rejected[i], causes[i]); err != nil {
				p.done(fmt.Errorf("publishing: %w", err))
				return
			}
		}
		if len(failed) == 0 {
			w.m.seconds.Observe(time.Since(p.start).Seconds())
			p.done(nil)
			return
		}
		w.m.retries.Inc()
		d := backoff(p.attempt)
		w.log.Warn("publishing failed; retrying", "records", len(failed), "attempt", p.attempt, "backoff", d, "err", err)
		if err := sleep(p.ctx, d); err != nil {
			p.done(fmt.Errorf("publishing: %w", err))
			return
		}
		w.enqueue(p, failed)
	}()
}

// publishAlone publishes one record that the broker refused for good as
// part of a batch: first alone, as it is, then in ever smaller forms (see
// escalate). Retriable errors are retried with backoff. When no smaller
// form is left it pauses, loudly, retrying until the broker accepts the
// record or ctx is done (its error is returned then).
func (w *Writer) publishAlone(ctx context.Context, m kafka.Message, cause error) error {
	alone := true // the first try sends the record as it is
	paused := false
	defer func() {
		if paused {
			w.m.paused.Dec()
		}
	}()
	for attempt := 1; ; attempt++ {
		if !alone && permanent(cause) {
			next, ok := w.escalate(m, cause.Error())
			switch {
			case ok:
				m = next
				var fit bool
				if m, fit = w.guard(m); !fit {
					w.drop(m, "too large and no smaller form can be published")
					return nil
				}
			case isScored(m):
				// A scored event with nowhere else to go.
				w.drop(m, cause.Error())
				return nil
			default:
				if !paused {
					paused = true
					w.m.paused.Inc()
				}
				d := backoff(attempt)
				w.log.Error("publishing paused: the broker refuses even the smallest dead letter; retrying",
					"topic", m.Topic, "value_bytes", len(m.Value), "attempt", attempt, "backoff", d, "err", cause)
				if err := sleep(ctx, d); err != nil {
					return err
				}
			}
		}
		alone = false
		err := w.w.WriteMessages(ctx, m)
		if err == nil {
			w.m.published.Inc()
			if paused {
				w.log.Info("publishing resumed: the paused dead letter was accepted", "topic", m.Topic)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cause = recordError(err)
		if !permanent(cause) {
			w.m.retries.Inc()
			d := backoff(attempt)
			w.log.Warn("publishing a rejected record failed; retrying", "topic", m.Topic, "attempt", attempt, "backoff", d, "err", cause)
			if err := sleep(ctx, d); err != nil {
				return err
			}
			alone = true // retry the same form
		}
	}
}

// isScored reports whether m is a scored event (not a dead letter).
func isScored(m kafka.Message) bool {
	r, _ := m.WriterData.(*rec)
	return r != nil && r.step == stepScored
}

// sleep waits for d or until ctx is done (its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff returns the wait before retry attempt n (1-based): 50 ms doubling
// to 5 s.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n-1, 7)
	return min(d, 5*time.Second)
}

// Close flushes and closes the underlying writers.
func (w *Writer) Close() error {
	w.dropped.Close()
	return errors.Join(w.aw.Close(), w.w.Close())
}
