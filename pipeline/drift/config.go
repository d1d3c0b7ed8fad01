package drift

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Defaults of Config.
const (
	DefaultPrefix           = "drift"
	DefaultBucket           = time.Minute
	DefaultWindow           = 60
	DefaultFlushInterval    = 5 * time.Second
	DefaultEvaluateInterval = 15 * time.Second
	DefaultMinEvents        = 200
	DefaultSmoothing        = 0.5
	DefaultHysteresis       = 0.25
	DefaultHistory          = 1440
	DefaultStoreTimeout     = 5 * time.Second
	// DefaultPSIAlert is the PSI above which a column is in drift unless
	// configured otherwise (the usual "significant shift" level).
	DefaultPSIAlert = 0.2
)

// Threshold is when one score raises and clears an alert. For a score where
// higher is worse, the alert is raised when the score reaches Alert and
// cleared when it falls below Clear (Clear < Alert: the gap is the
// hysteresis that keeps a score hovering near Alert from flapping). For
// ChiSquaredP it is the other way round (raised at or below Alert, cleared
// above Clear).
type Threshold struct {
	Alert float64 `json:"alert"`
	Clear float64 `json:"clear"`
}

// crossed reports whether v raises the alert.
func (t Threshold) crossed(s Score, v float64) bool {
	if s.HigherIsWorse() {
		return v >= t.Alert
	}
	return v <= t.Alert
}

// recovered reports whether v clears the alert.
func (t Threshold) recovered(s Score, v float64) bool {
	if s.HigherIsWorse() {
		return v < t.Clear
	}
	return v > t.Clear
}

// Thresholds are the alert levels of every column.
type Thresholds struct {
	// Default applies to every column, score by score. A nil Default means
	// PSI at DefaultPSIAlert; an empty, non-nil one means no default
	// alerts.
	Default map[Score]Threshold
	// Columns override Default per column and score; a column listed maps
	// each score it names to its own level, and Off lists scores the
	// column does not alert on.
	Columns map[string]ColumnThresholds
	// Hysteresis sets Clear where a Threshold leaves it zero: Alert·(1−h)
	// for scores where higher is worse, Alert·(1+h) for ChiSquaredP.
	// Zero means DefaultHysteresis; negative means none (Clear = Alert).
	// In streamscore.yaml it is Config.Hysteresis.
	Hysteresis float64 `yaml:"-"`

	// invalid holds what UnmarshalYAML could not read, for Validate.
	invalid error
}

// ColumnThresholds are one column's overrides.
type ColumnThresholds struct {
	Scores map[Score]Threshold
	Off    []Score
}

// For returns the thresholds of column, Clear filled in.
func (t *Thresholds) For(column string) map[Score]Threshold {
	out := map[Score]Threshold{}
	def := t.Default
	if def == nil {
		def = map[Score]Threshold{PSI: {Alert: DefaultPSIAlert}}
	}
	for s, th := range def {
		out[s] = th
	}
	if c, ok := t.Columns[column]; ok {
		for s, th := range c.Scores {
			out[s] = th
		}
		for _, s := range c.Off {
			delete(out, s)
		}
	}
	h := t.Hysteresis
	switch {
	case h == 0:
		h = DefaultHysteresis
	case h < 0:
		h = 0
	}
	for s, th := range out {
		if th.Clear == 0 {
			if s.HigherIsWorse() {
				th.Clear = th.Alert * (1 - h)
			} else {
				th.Clear = th.Alert * (1 + h)
			}
			out[s] = th
		}
	}
	return out
}

// Validate reports thresholds the file wrote wrongly (an unknown score, a
// level that is not a number) and thresholds whose clear level is on the
// wrong side.
func (t *Thresholds) Validate() error {
	errs := []error{t.invalid}
	check := func(where string, m map[Score]Threshold) {
		for s, th := range m {
			if math.IsNaN(th.Alert) || math.IsNaN(th.Clear) {
				errs = append(errs, fmt.Errorf("%s.%s: not a number", where, s))
				continue
			}
			if th.Clear == 0 {
				continue
			}
			if s.HigherIsWorse() && th.Clear > th.Alert {
				errs = append(errs, fmt.Errorf("%s.%s: clear %v is above alert %v; it must be at or below it", where, s, th.Clear, th.Alert))
			}
			if !s.HigherIsWorse() && th.Clear < th.Alert {
				errs = append(errs, fmt.Errorf("%s.%s: clear %v is below alert %v; for a p-value it must be at or above it", where, s, th.Clear, th.Alert))
			}
		}
	}
	check("thresholds.default", t.Default)
	for c, ct := range t.Columns {
		check("thresholds.features."+c, ct.Scores)
	}
	if t.Hysteresis >= 1 {
		errs = append(errs, errors.New("hysteresis: must be below 1 (a fraction of the alert level)"))
	}
	return errors.Join(errs...)
}

// Config is the drift section of streamscore.yaml: it turns on drift
// monitoring for `run`, tunes the Monitor, and holds what `drift status`,
// `drift report` and `baseline --config` need. Zero values take the
// defaults named.
type Config struct {
	// Enabled turns drift monitoring on in `run`; it needs Baseline and
	// redis.addrs.
	Enabled bool `yaml:"enabled"`
	// Baseline is the file `streamscore baseline` wrote; a relative path
	// in streamscore.yaml is relative to the file.
	Baseline string `yaml:"baseline"`
	// Prefix starts every store key (default "drift"); a replay uses its
	// own so it never mixes into the live window.
	Prefix string `yaml:"prefix"`
	// Bucket is the time a bucket spans (default 1m).
	Bucket time.Duration `yaml:"bucket"`
	// Window is the number of buckets a window sums, the current one
	// included (default 60). Keys live Window+1 buckets.
	Window int `yaml:"window"`
	// FlushInterval is how often local counts go to the store, one
	// pipelined round trip each (default 5s, at most Bucket).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// EvaluateInterval is how often the window is scored (default 15s, at
	// most Bucket).
	EvaluateInterval time.Duration `yaml:"evaluate_interval"`
	// MaxPendingBuckets bounds the buckets held locally while the store is
	// down (default Window+1; older buckets could not count anyway). When
	// more would be held, the oldest is dropped and its events counted in
	// streamscore_drift_lost_events_total.
	MaxPendingBuckets int `yaml:"max_pending_buckets"`
	// MinEvents is the number of events a window needs before its scores
	// can raise or clear alerts (default 200).
	MinEvents int64 `yaml:"min_events"`
	// Smoothing is the pseudo-count added to every bin for PSI and
	// chi-squared (default 0.5; negative means none).
	Smoothing float64 `yaml:"smoothing"`
	// Thresholds are the alert levels (see Thresholds.UnmarshalYAML for
	// how the file writes them).
	Thresholds Thresholds `yaml:"thresholds"`
	// Hysteresis sets the clear level a threshold leaves out, as
	// alert·(1−hysteresis) (default 0.25; negative for none). It is
	// Thresholds.Hysteresis, written beside thresholds in the file.
	Hysteresis float64 `yaml:"hysteresis"`
	// History is how many evaluations the store keeps for the report
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
	// StoreTimeout bounds each store call (default 5s).
	StoreTimeout time.Duration `yaml:"-"`
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time `yaml:"-" json:"-"`
	// ReplicaID identifies this process in the evaluation lease (default:
	// a random one).
	ReplicaID string `yaml:"-"`
}

// WithDefaults returns c with its zero values replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Bucket == 0 {
		c.Bucket = DefaultBucket
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = min(DefaultFlushInterval, c.Bucket)
	}
	if c.EvaluateInterval == 0 {
		c.EvaluateInterval = min(DefaultEvaluateInterval, c.Bucket)
	}
	if c.MaxPendingBuckets == 0 {
		c.MaxPendingBuckets = c.Window + 1
	}
	if c.MinEvents == 0 {
		c.MinEvents = DefaultMinEvents
	}
	switch {
	case c.Smoothing == 0:
		c.Smoothing = DefaultSmoothing
	case c.Smoothing < 0:
		c.Smoothing = 0
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if c.Thresholds.Hysteresis == 0 {
		c.Thresholds.Hysteresis = c.Hysteresis
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every problem with c (after defaults), naming the key.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Enabled && c.Baseline == "" {
		add("baseline: required when drift.enabled (write one with `streamscore baseline`)")
	}
	if c.Bins < 0 || c.MaxCategories < 0 {
		add("bins and max_categories: must not be negative")
	}
	if c.Bucket < 100*time.Millisecond {
		add("bucket: %s is too short; use 100ms or more (1m is usual)", c.Bucket)
	}
	if c.Window < 1 {
		add("window: must be at least 1 bucket")
	}
	if c.FlushInterval < 0 || c.FlushInterval > c.Bucket {
		add("flush_interval: must be positive and at most one bucket (%s)", c.Bucket)
	}
	if c.EvaluateInterval < 0 {
		add("evaluate_interval: must be positive")
	}
	if c.MaxPendingBuckets < 1 {
		add("max_pending_buckets: must be at least 1")
	}
	if c.MinEvents < 1 {
		add("min_events: must be at least 1")
	}
	if c.History < 1 {
		add("history: must be at least 1")
	}
	if err := c.Thresholds.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckColumns reports threshold overrides naming no column of base,
// which are most likely typos.
func (c Config) CheckColumns(base *Baseline) error {
	var unknown []string
	for f := range c.Thresholds.Columns {
		if base.Column(f) == nil {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("thresholds.features: %v are not columns of baseline %s", unknown, c.Baseline)
}

// scoreOrder lists scores in Score order, for stable output.
func scoreOrder(m map[Score]Threshold) []Score {
	out := make([]Score, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
