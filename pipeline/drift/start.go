package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/schemas"
)

// Start loads cfg's baseline, checks it against cfg, and runs a Monitor
// over client (and sink, if not nil) on its own goroutine until the
// returned stop function is called; stop flushes what the monitor holds
// and waits for it, so batches a caller drains after a signal are still
// counted. Redis not answering yet is not an error: counts are kept and
// flushed once it does. The caller closes client and sink after stop.
func Start(ctx context.Context, cfg Config, spec *schemas.Spec, client redis.UniversalClient, sink EventSink, log *slog.Logger, reg prometheus.Registerer) (*Monitor, func(), error) {
	base, err := LoadBaseline(cfg.Baseline)
	if err != nil {
		return nil, nil, fmt.Errorf("drift.baseline: %w", err)
	}
	if err := cfg.CheckColumns(base); err != nil {
		// Each line of the error names a key under drift.
		return nil, nil, errors.New("drift." + strings.ReplaceAll(err.Error(), "\n", "\ndrift."))
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if err := client.Ping(pctx).Err(); err != nil {
		log.Warn("drift: Redis does not answer yet; counts are kept locally until it does", "err", err)
	}
	cancel()
	mon, err := NewMonitor(cfg, base, spec, NewRedisStore(client), sink, log, reg)
	if err != nil {
		return nil, nil, err
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Run(runCtx)
	}()
	eff := cfg.WithDefaults()
	log.Info("drift monitoring", "baseline", cfg.Baseline, "baseline_id", base.ID(), "columns", len(base.Columns),
		"prefix", eff.Prefix, "bucket", eff.Bucket, "window", eff.Window, "flush_interval", eff.FlushInterval, "topic", cfg.Topic)
	return mon, func() {
		stopRun()
		<-done
	}, nil
}
