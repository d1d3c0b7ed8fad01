package main

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

// setupDrift returns the drift observer for run, and a function that stops
// it (flushing what it holds), or nil when drift is off. The monitor runs
// on its own goroutine until the stop function is called, so batches the
// engine drains after a signal are still counted.
func setupDrift(ctx context.Context, cfg *config.Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.Observer, func(), error) {
	dc := &cfg.Drift
	if !dc.Enabled {
		return nil, func() {}, nil
	}
	if err := dc.Validate(); err != nil {
		return nil, nil, config.InSection("drift", err)
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, errors.New("drift.enabled: drift windows live in Redis; set redis.addrs (or STREAMSCORE_REDIS)")
	}
	base, err := drift.LoadBaseline(dc.Baseline)
	if err != nil {
		return nil, nil, fmt.Errorf("drift.baseline: %w", err)
	}
	if err := dc.CheckColumns(base); err != nil {
		return nil, nil, config.InSection("drift", err)
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if err := client.Ping(pctx).Err(); err != nil {
		// Counts are kept and flushed once Redis answers; scoring goes on.
		log.Warn("drift: Redis does not answer yet; counts are kept locally until it does", "err", err)
	}
	cancel()
	var sink drift.EventSink
	closeSink := func() {}
	if dc.Topic != "" {
		dialer, err := cfg.Kafka.Dialer()
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		transport, err := cfg.Kafka.Transport()
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = consumers.CreateTopics(tctx, dialer, cfg.Brokers, 1, cfg.Topics.ReplicationFactor, dc.Topic)
		cancel()
		if err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("drift.topic: %w", err)
		}
		pc := producers.Config{Brokers: cfg.Brokers, Transport: transport, WriteTimeout: 10 * time.Second}
		w := pc.NewKafkaWriter()
		w.Topic = dc.Topic
		sink = drift.NewKafkaSink(w)
		closeSink = func() { w.Close() }
	}
	mon, err := drift.NewMonitor(*dc, base, spec, drift.NewRedisStore(client), sink, log, reg)
	if err != nil {
		closeSink()
		client.Close()
		return nil, nil, err
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Run(runCtx)
	}()
	eff := dc.WithDefaults()
	log.Info("drift monitoring", "baseline", dc.Baseline, "baseline_id", base.ID(), "columns", len(base.Columns),
		"prefix", eff.Prefix, "bucket", eff.Bucket, "window", eff.Window, "flush_interval", eff.FlushInterval, "topic", dc.Topic)
	stop := func() {
		stopRun()
		<-done
		closeSink()
		client.Close()
	}
	return mon, stop, nil
}
