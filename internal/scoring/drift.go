package scoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/drift"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// OpenDrift returns the drift observer of the scoring path, and a function that stops
// it (flushing what it holds), or nil when drift is off. The monitor runs
// on its own goroutine until the stop function is called, so batches the
// engine drains after a signal are still counted.
func OpenDrift(ctx context.Context, cfg *config.Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.Observer, func(), error) {
	dc := &cfg.Drift
	if !dc.Enabled {
		return nil, func() {}, nil
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, errors.New("drift.enabled: drift windows live in Redis; set redis.addrs (or STREAMSCORE_REDIS)")
	}
	sink, closeSink, err := openDriftTopic(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		closeSink()
		return nil, nil, err
	}
	mon, stopMon, err := drift.Start(ctx, *dc, spec, client, sink, log, reg)
	if err != nil {
		closeSink()
		client.Close()
		return nil, nil, err
	}
	return mon, func() {
		stopMon()
		closeSink()
		client.Close()
	}, nil
}

// openDriftTopic creates drift.topic (one partition: drift events are few,
// and stay in order) and returns the sink of alert events on it; nil when
// drift.topic is empty.
func openDriftTopic(ctx context.Context, cfg *config.Config) (drift.EventSink, func(), error) {
	topic := cfg.Drift.Topic
	if topic == "" {
		return nil, func() {}, nil
	}
	dialer, err := cfg.Kafka.Dialer()
	if err != nil {
		return nil, nil, err
	}
	transport, err := cfg.Kafka.Transport()
	if err != nil {
		return nil, nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = consumers.CreateTopics(tctx, dialer, cfg.Brokers, 1, cfg.Topics.ReplicationFactor, topic)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("drift.topic: %w", err)
	}
	pc := producers.Config{Brokers: cfg.Brokers, Transport: transport, WriteTimeout: 10 * time.Second}
	w := pc.NewKafkaWriter()
	w.Topic = topic
	return drift.NewKafkaSink(w), func() { w.Close() }, nil
}
