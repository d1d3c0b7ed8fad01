package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// shadowQueue bounds the batches waiting for the shadow topic.
const shadowQueue = 64

// shadowWriter is the part of kafka.Writer the shadow publisher uses.
type shadowWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// shadowPublisher writes the challenger's scored events to the shadow
// topic, off the scoring path: publish encodes and queues without blocking,
// and a batch that finds the queue full is dropped and counted. The shadow
// topic is for comparison, so it never slows or fails scoring.
type shadowPublisher struct {
	topic string
	w     shadowWriter
	enc   *schemas.Encoder
	key   bool // the schema names a key field
	log   *slog.Logger
	queue chan []kafka.Message
	wg    sync.WaitGroup

	published prometheus.Counter
	dropped   *prometheus.CounterVec
}

func newShadowPublisher(topic string, w shadowWriter, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) *shadowPublisher {
	p := &shadowPublisher{
		topic: topic, w: w, enc: schemas.NewEncoder(spec), key: spec.Key != "",
		log:   log.With("component", "shadow", "topic", topic),
		queue: make(chan []kafka.Message, shadowQueue),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_shadow_published_total",
			Help: "Challenger scored events written to the shadow topic.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_shadow_dropped_total",
			Help: "Challenger scored events not written to the shadow topic, by reason (queue_full, write_error, unmatched).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(p.published, p.dropped)
	}
	p.wg.Go(p.run)
	return p
}

// publish encodes the scored events of b as the challenger scored them
// (scores chal, model name and version) and queues them.
func (p *shadowPublisher) publish(b *schemas.ScoredBatch, chal []schemas.Scores, name, version string) {
	sb := schemas.ScoredBatch{Msgs: b.Msgs, Decoded: b.Decoded, Scores: chal, OK: b.OK, Model: name, ModelVersion: version, FeaturesMissing: b.FeaturesMissing, ScoredAt: b.ScoredAt}
	rows := int(b.Decoded.Record.NumRows())
	keys := b.Decoded.Record.Column(1).(*array.String)
	msgs := make([]kafka.Message, 0, rows)
	var arena []byte
	for r := range rows {
		if !sb.RowOK(r) {
			continue
		}
		start := len(arena)
		arena = p.enc.Append(arena, &sb, r)
		m := &b.Msgs[b.Decoded.Rows[r]]
		key := m.Key
		if len(key) == 0 && p.key {
			key = []byte(keys.Value(r))
		}
		msgs = append(msgs, kafka.Message{Topic: p.topic, Key: key, Value: arena[start:len(arena):len(arena)]})
	}
	// The values alias arena, which is not reused; keys may alias the
	// input, which the engine releases after the batch: copy them.
	for i := range msgs {
		msgs[i].Key = append([]byte(nil), msgs[i].Key...)
	}
	select {
	case p.queue <- msgs:
	default:
		p.dropped.WithLabelValues("queue_full").Add(float64(len(msgs)))
	}
}

// skip counts a batch whose challenger version is unknown (it was scored
// row by row after a model error).
func (p *shadowPublisher) skip() { p.dropped.WithLabelValues("unmatched").Inc() }

func (p *shadowPublisher) run() {
	for msgs := range p.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := p.w.WriteMessages(ctx, msgs...)
		cancel()
		if err != nil {
			p.dropped.WithLabelValues("write_error").Add(float64(len(msgs)))
			p.log.Warn("writing challenger events to the shadow topic", "events", len(msgs), "err", err)
			continue
		}
		p.published.Add(float64(len(msgs)))
	}
}

// close writes what is queued, then closes the writer. No publish may
// follow.
func (p *shadowPublisher) close() {
	close(p.queue)
	p.wg.Wait()
	p.w.Close()
}
