package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/drift"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// DriftConfig turns on drift monitoring for `run` and holds what `drift
// status`, `drift report` and `baseline --config` need. Zero values take
// the defaults named.
type DriftConfig struct {
	// Enabled turns drift monitoring on; it needs Baseline and redis.addrs.
	Enabled bool `yaml:"enabled"`
	// Baseline is the file `streamscore baseline` wrote. A relative path
	// is resolved by resolvePaths once LoadConfig calls it; until then it
	// is read from the working directory, by run and drift alike.
	Baseline string `yaml:"baseline"`
	// Prefix starts every Redis key (default "drift"). `replay` writes
	// under its own prefix so backtests never touch the live window.
	Prefix string `yaml:"prefix"`
	// Bucket is the time one bucket spans (default 1m); Window the number
	// of buckets a rolling window sums, the current one included (default
	// 60). Keys live Window+1 buckets.
	Bucket time.Duration `yaml:"bucket"`
	Window int           `yaml:"window"`
	// FlushInterval is how often counts go to Redis, one pipelined round
	// trip each (default 5s, at most Bucket). EvaluateInterval is how often
	// the window is scored (default 15s, at most Bucket).
	FlushInterval    time.Duration `yaml:"flush_interval"`
	EvaluateInterval time.Duration `yaml:"evaluate_interval"`
	// MaxPendingBuckets bounds what is kept while Redis is down (default
	// Window+1); beyond it the oldest bucket is dropped and its events are
	// counted in streamscore_drift_lost_events_total.
	MaxPendingBuckets int `yaml:"max_pending_buckets"`
	// MinEvents is how many events a window needs before it can raise or
	// clear an alert (default 200).
	MinEvents int64 `yaml:"min_events"`
	// Smoothing is the pseudo-count per bin for PSI and chi-squared
	// (default 0.5; negative for none).
	Smoothing float64 `yaml:"smoothing"`
	// Thresholds are the alert levels; Hysteresis sets a clear level left
	// out as alert·(1−hysteresis) (default 0.25; negative for none).
	Thresholds DriftThresholds `yaml:"thresholds"`
	Hysteresis float64         `yaml:"hysteresis"`
	// History is how many evaluations Redis keeps for `drift report`
	// (default 1440).
	History int `yaml:"history"`
	// Topic receives one JSON event per alert and recovery; empty means
	// they are only logged. run creates it (1 partition) if missing.
	Topic string `yaml:"topic"`
	// Bins, Categorical and MaxCategories are what `streamscore baseline
	// --config` uses when its flags leave them out: quantile bins per
	// numeric column (default 10), features and passthrough fields to
	// treat as categorical, and the vocabulary size (default 50).
	Bins          int      `yaml:"bins"`
	Categorical   []string `yaml:"categorical"`
	MaxCategories int      `yaml:"max_categories"`
}

// DriftThresholds are the alert levels: Default applies to every column,
// Features overrides per column. Each maps a score name (psi, ks, js,
// wasserstein, chi2, chi2_p, missing) to a level:
//
//	thresholds:
//	  default: {psi: 0.2}                  # alert at 0.2, clear below 0.15
//	  features:
//	    amount: {psi: {alert: 0.3, clear: 0.2}, ks: 0.15}
//	    country: {psi: off, chi2_p: 0.001}
//
// Leaving default out means psi 0.2.
type DriftThresholds struct {
	Default  map[string]ThresholdConfig            `yaml:"default"`
	Features map[string]map[string]ThresholdConfig `yaml:"features"`
}

// ThresholdConfig is one score's level: a number (the alert level), "off",
// or {alert, clear}.
type ThresholdConfig struct {
	Alert float64 `yaml:"alert"`
	Clear float64 `yaml:"clear"`
	Off   bool    `yaml:"-"`
}

// UnmarshalYAML accepts a number, "off", or a mapping.
func (t *ThresholdConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "off" {
			t.Off = true
			return nil
		}
		return n.Decode(&t.Alert)
	}
	type plain ThresholdConfig
	return n.Decode((*plain)(t))
}

// Validate reports every problem, naming the key.
func (c *DriftConfig) Validate() error {
	var errs []error
	if c.Enabled && c.Baseline == "" {
		errs = append(errs, errors.New("drift.baseline: required when drift.enabled (write one with `streamscore baseline`)"))
	}
	if _, err := c.thresholds(); err != nil {
		errs = append(errs, err)
	}
	if c.Bins < 0 || c.MaxCategories < 0 {
		errs = append(errs, errors.New("drift.bins and drift.max_categories: must not be negative"))
	}
	mc, _ := c.monitorConfig()
	if err := mc.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("drift: %w", err))
	}
	return errors.Join(errs...)
}

// resolvePaths makes a relative Baseline path relative to dir, the
// configuration file's folder; LoadConfig is where it belongs, beside the
// schema's and the model's.
func (c *DriftConfig) resolvePaths(dir string) {
	if c.Baseline != "" && !filepath.IsAbs(c.Baseline) {
		c.Baseline = filepath.Join(dir, c.Baseline)
	}
}

// thresholds converts the YAML thresholds.
func (c *DriftConfig) thresholds() (drift.Thresholds, error) {
	t := drift.Thresholds{Hysteresis: c.Hysteresis}
	var errs []error
	conv := func(where string, m map[string]ThresholdConfig) (map[drift.Score]drift.Threshold, []drift.Score) {
		out := map[drift.Score]drift.Threshold{}
		var off []drift.Score
		for name, tc := range m {
			s, err := drift.ParseScore(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", where, name, err))
				continue
			}
			if tc.Off {
				off = append(off, s)
				continue
			}
			if math.IsNaN(tc.Alert) {
				errs = append(errs, fmt.Errorf("%s.%s: alert is not a number", where, name))
			}
			out[s] = drift.Threshold{Alert: tc.Alert, Clear: tc.Clear}
		}
		return out, off
	}
	if c.Thresholds.Default != nil {
		def, off := conv("drift.thresholds.default", c.Thresholds.Default)
		for _, s := range off {
			delete(def, s)
		}
		t.Default = def
	}
	if len(c.Thresholds.Features) > 0 {
		t.Columns = map[string]drift.ColumnThresholds{}
		for f, m := range c.Thresholds.Features {
			sc, off := conv("drift.thresholds.features."+f, m)
			t.Columns[f] = drift.ColumnThresholds{Scores: sc, Off: off}
		}
	}
	if err := t.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("drift.%w", err))
	}
	return t, errors.Join(errs...)
}

// monitorConfig returns the drift package's configuration.
func (c *DriftConfig) monitorConfig() (drift.Config, error) {
	th, err := c.thresholds()
	return drift.Config{
		Prefix: c.Prefix, Bucket: c.Bucket, Window: c.Window,
		FlushInterval: c.FlushInterval, EvaluateInterval: c.EvaluateInterval,
		MaxPendingBuckets: c.MaxPendingBuckets, MinEvents: c.MinEvents, Smoothing: c.Smoothing,
		Thresholds: th, History: c.History,
	}, err
}

// checkColumns reports threshold overrides naming no baseline column, which
// are most likely typos.
func (c *DriftConfig) checkColumns(base *drift.Baseline) error {
	var unknown []string
	for f := range c.Thresholds.Features {
		if base.Column(f) == nil {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("drift.thresholds.features: %v are not columns of baseline %s", unknown, c.Baseline)
}

// setupDrift returns the drift observer for run, and a function that stops
// it (flushing what it holds), or nil when drift is off. The monitor runs
// on its own goroutine until the stop function is called, so batches the
// engine drains after a signal are still counted.
func setupDrift(ctx context.Context, cfg *Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.Observer, func(), error) {
	dc := &cfg.Drift
	if !dc.Enabled {
		return nil, func() {}, nil
	}
	if err := dc.Validate(); err != nil {
		return nil, nil, err
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, errors.New("drift.enabled: drift windows live in Redis; set redis.addrs (or STREAMSCORE_REDIS)")
	}
	base, err := drift.LoadBaseline(dc.Baseline)
	if err != nil {
		return nil, nil, fmt.Errorf("drift.baseline: %w", err)
	}
	if err := dc.checkColumns(base); err != nil {
		return nil, nil, err
	}
	mc, err := dc.monitorConfig()
	if err != nil {
		return nil, nil, err
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
		dialer, err := cfg.Kafka.dialer()
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		transport, err := cfg.Kafka.transport()
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
	mon, err := drift.NewMonitor(mc, base, spec, drift.NewRedisStore(client), sink, log, reg)
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
	eff := mc.WithDefaults()
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
