package producers

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// shadowQueue bounds the batches waiting for the shadow topic.
const shadowQueue = 64

// shadowWriteTimeout bounds one write of a queued batch.
const shadowWriteTimeout = 30 * time.Second

// MessageWriter is the part of kafka.Writer a Shadow uses.
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// Shadow writes a challenger's scored events to a topic of their own (the
// engine's ShadowSink), off the scoring path: Offer queues without blocking,
// and a batch that finds the queue full is dropped and counted. The shadow
// topic is for comparison, so it never slows or fails scoring, and what it
// drops is never scored again. Offer is safe for concurrent use; Close must
// follow the last Offer.
type Shadow struct {
	topic string
	w     MessageWriter
	log   *slog.Logger
	queue chan []kafka.Message
	wg    sync.WaitGroup

	published prometheus.Counter
	dropped   *prometheus.CounterVec
}

// NewShadow returns a Shadow writing to topic through w (a kafka.Writer
// from Config.NewKafkaWriter; messages name their topic), and starts its
// writing goroutine. log and reg may be nil.
func NewShadow(topic string, w MessageWriter, log *slog.Logger, reg prometheus.Registerer) (*Shadow, error) {
	if topic == "" || w == nil {
		return nil, errors.New("model.challenger.shadow_topic: a topic and a writer are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shadow{
		topic: topic, w: w,
		log:   log.With("component", "shadow", "topic", topic),
		queue: make(chan []kafka.Message, shadowQueue),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_shadow_published_total",
			Help: "Challenger scored events written to the shadow topic.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_shadow_dropped_total",
			Help: "Challenger scored events not written to the shadow topic, by reason (queue_full, write_error).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(s.published, s.dropped)
	}
	s.wg.Go(s.run)
	return s, nil
}

// Offer queues msgs for the shadow topic, or drops and counts them when
// the queue is full. It does not block; msgs belong to s from then on.
func (s *Shadow) Offer(msgs []schemas.Message) {
	if len(msgs) == 0 {
		return
	}
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Topic: s.topic, Key: m.Key, Value: m.Value, Headers: kafkaHeaders(m.Headers)}
	}
	select {
	case s.queue <- out:
	default:
		s.dropped.WithLabelValues("queue_full").Add(float64(len(out)))
	}
}

func (s *Shadow) run() {
	for msgs := range s.queue {
		ctx, cancel := context.WithTimeout(context.Background(), shadowWriteTimeout)
		err := s.w.WriteMessages(ctx, msgs...)
		cancel()
		if err != nil {
			s.dropped.WithLabelValues("write_error").Add(float64(len(msgs)))
			s.log.Warn("writing challenger events to the shadow topic", "events", len(msgs), "err", err)
			continue
		}
		s.published.Add(float64(len(msgs)))
	}
}

// Close writes what is queued, then closes the writer. No Offer may
// follow.
func (s *Shadow) Close() error {
	close(s.queue)
	s.wg.Wait()
	return s.w.Close()
}
