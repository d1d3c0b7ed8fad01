package replay

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// Task says which metrics a replay computes.
type Task string

// Tasks.
const (
	// TaskAuto decides from the labels: a classifier when every label is 0
	// or 1 (true or false), a regressor otherwise; without labels, a
	// classifier when every score lies in [0, 1].
	TaskAuto Task = "auto"
	// TaskClassifier treats each model's score as the positive-class
	// probability (or a ranking score) of a binary classifier.
	TaskClassifier Task = "classifier"
	// TaskRegressor treats each model's score as a predicted value.
	TaskRegressor Task = "regressor"
)

// FeatureSource says where the values of a schema's feature sets (the
// features production looks up in Redis) come from during a replay. Event
// features are always read from the event.
type FeatureSource string

// Feature sources.
const (
	// FeaturesEvent reads feature-set features from the event rows, as
	// top-level fields named like the features: the point-in-time values a
	// backtest dataset supplies. A row without one gets the feature's
	// default. Entity-key fields are not needed.
	FeaturesEvent FeatureSource = "event"
	// FeaturesNone leaves feature-set features at their defaults: no
	// lookup at all.
	FeaturesNone FeatureSource = "none"
	// FeaturesRedis looks them up in the online store, as run does, through
	// Config.Store. The store holds today's values, not those at each
	// event's time, so a backtest with it leaks the future.
	FeaturesRedis FeatureSource = "redis"
)

// Validate reports a feature source that is not one of event, none,
// redis; empty is valid (FeaturesEvent).
func (f FeatureSource) Validate() error {
	switch f {
	case "", FeaturesEvent, FeaturesNone, FeaturesRedis:
		return nil
	}
	return fmt.Errorf("%q is not event, none or redis", string(f))
}

// Model is one model a replay scores with.
type Model struct {
	// Name labels the model's columns in outputs and reports; names must
	// be unique.
	Name string
	// Scorer scores a batch; its outputs follow the schema binding.
	Scorer pipeline.Scorer
}

// Selector picks the value of a model's outputs that metrics and
// disagreement use: output Output (its scored-event name), column Column.
// The zero value picks automatically: the only output; else the first output
// of width 2 (a binary classifier's probabilities), column 1; else the first
// output of width 1.
type Selector struct {
	Output string
	// Column is the 0-based column of Output; -1 means 1 for an output of
	// width 2 and 0 for width 1 (ParseSelector sets -1 when no column is
	// written). It is ignored when Output is empty.
	Column int
}

var selectorRE = regexp.MustCompile(`^([^\[\]:]+?)(?:\[(\d+)\]|:(\d+))?$`)

// ParseSelector reads "output", "output[column]" or "output:column"; ""
// is the zero Selector.
func ParseSelector(s string) (Selector, error) {
	if s == "" {
		return Selector{}, nil
	}
	m := selectorRE.FindStringSubmatch(s)
	if m == nil {
		return Selector{}, fmt.Errorf("score %q: write OUTPUT or OUTPUT[COLUMN], e.g. probabilities[1]", s)
	}
	sel := Selector{Output: m[1], Column: -1}
	for _, c := range m[2:] {
		if c != "" {
			n, err := strconv.Atoi(c)
			if err != nil {
				return Selector{}, fmt.Errorf("score %q: column: %w", s, err)
			}
			sel.Column = n
		}
	}
	return sel, nil
}

// String formats s as output[column].
func (s Selector) String() string {
	if s.Output == "" {
		return "auto"
	}
	if s.Column < 0 {
		return s.Output
	}
	return fmt.Sprintf("%s[%d]", s.Output, s.Column)
}

// Default values of Config.
const (
	// DefaultThreshold is the classifier decision threshold.
	DefaultThreshold = 0.5
	// DefaultBins is the number of calibration bins.
	DefaultBins = 10
	// DefaultMaxWait is the replay's batch max_wait: batches close on size,
	// never on time, so their composition (and every float the model
	// computes) does not depend on how fast the source delivers.
	DefaultMaxWait = time.Hour
)

// Config configures Run. The zero value of every field but Spec, Source and
// Models is a working default.
type Config struct {
	// Spec is the event schema, as run uses it. Run works on a copy.
	Spec *schemas.Spec
	// Source yields the events; it must end by itself (Files, Topic).
	Source pipeline.Source
	// Models score every batch, in order; the first is the champion that
	// challengers are compared with. At least one.
	Models []Model
	// Label names the top-level event field holding the true value: a
	// number, true/false, or a string holding either. Empty means no
	// labels: outputs and disagreement only, no metrics.
	Label string
	// Task says which metrics apply; empty means TaskAuto.
	Task Task
	// Score picks the value metrics and disagreement use; the zero value
	// picks automatically (see Selector).
	Score Selector
	// Threshold decides a classifier's rows: positive when score ≥
	// Threshold. Zero means 0.5.
	Threshold float64
	// Tolerance is how far two regressors' scores may differ and still
	// agree. Zero means any difference is a disagreement.
	Tolerance float64
	// Bins is the number of calibration bins; zero means 10.
	Bins int
	// From and To, if set, keep only rows whose event time is in
	// [From, To). For topics, Topic already reads only records whose
	// timestamp is in its range; this filter is for files, whose rows are
	// scored and then left out of outputs and metrics.
	From, To time.Time
	// Features says where feature-set values come from; empty means
	// FeaturesEvent.
	Features FeatureSource
	// Store is the online feature store, used with FeaturesRedis.
	Store pipeline.FeatureStore
	// Policy closes batches; zero fields take pipeline.DefaultPolicy's,
	// except MaxWait, which defaults to DefaultMaxWait for determinism.
	Policy pipeline.Policy
	// InFlight is the engine's in-flight batches per stage; zero means its
	// default.
	InFlight int
	// Output receives the scored rows in replay order; nil writes none.
	Output Output
	// Progress, if set, is called after each batch with how many events
	// have ended (scored or dead-lettered) so far. It runs on the engine's
	// publish goroutine and must not block.
	Progress func(done int64)
	// Log receives the engine's logs; nil discards them.
	Log *slog.Logger
	// Mem allocates Arrow memory; nil means the Go allocator.
	Mem memory.Allocator
}

// WithDefaults returns c with its zero fields replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.Task == "" {
		c.Task = TaskAuto
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Bins == 0 {
		c.Bins = DefaultBins
	}
	if c.Features == "" {
		c.Features = FeaturesEvent
	}
	if c.Policy.MaxRows == 0 {
		c.Policy.MaxRows = pipeline.DefaultPolicy.MaxRows
	}
	if c.Policy.MaxBytes == 0 {
		c.Policy.MaxBytes = pipeline.DefaultPolicy.MaxBytes
	}
	if c.Policy.MaxWait == 0 {
		c.Policy.MaxWait = DefaultMaxWait
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Mem == nil {
		c.Mem = memory.NewGoAllocator()
	}
	return c
}

// Validate reports every problem with c, naming the setting and the fix.
func (c *Config) Validate() error {
	var errs []error
	if c.Spec == nil {
		errs = append(errs, errors.New("schema: required"))
	}
	if c.Source == nil {
		errs = append(errs, errors.New("source: name a topic or input files"))
	}
	if len(c.Models) == 0 {
		errs = append(errs, errors.New("models: at least one model is required"))
	}
	seen := map[string]bool{}
	for i, m := range c.Models {
		switch {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("models[%d]: a name is required", i))
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("models[%d]: the name %q is used twice; name each model (--model NAME=PATH)", i, m.Name))
		case strings.ContainsAny(m.Name, ".[]\"\\"):
			errs = append(errs, fmt.Errorf("models[%d]: the name %q holds one of . [ ] \" \\, which output columns use", i, m.Name))
		}
		seen[m.Name] = true
		if m.Scorer == nil {
			errs = append(errs, fmt.Errorf("models[%d]: no scorer", i))
		}
	}
	switch c.Task {
	case "", TaskAuto, TaskClassifier, TaskRegressor:
	default:
		errs = append(errs, fmt.Errorf("task: %q is not auto, classifier or regressor", c.Task))
	}
	if err := c.Features.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("features: %w", err))
	}
	if c.Features == FeaturesRedis && c.Store == nil && c.Spec != nil && len(c.Spec.FeatureSets) > 0 {
		errs = append(errs, errors.New("features: redis needs a feature store, and none is configured (set redis in the config, or replay with features from the event rows)"))
	}
	if c.Tolerance < 0 {
		errs = append(errs, errors.New("tolerance: must not be negative"))
	}
	if c.Bins < 0 {
		errs = append(errs, errors.New("bins: must be positive"))
	}
	if c.Score.Column < -1 {
		errs = append(errs, errors.New("score: the column must not be negative"))
	}
	if !c.From.IsZero() && !c.To.IsZero() && !c.To.After(c.From) {
		errs = append(errs, fmt.Errorf("time range: to (%s) must be after from (%s)", c.To.Format(time.RFC3339Nano), c.From.Format(time.RFC3339Nano)))
	}
	if c.Spec != nil && c.Label != "" {
		if slices.Contains(c.Spec.FeatureNames(), c.Label) {
			errs = append(errs, fmt.Errorf("label: %q is a model feature; a label fed to the model leaks the answer", c.Label))
		}
		if c.Label == c.Spec.ID || c.Label == c.Spec.Key || c.Label == c.Spec.EventTime {
			errs = append(errs, fmt.Errorf("label: %q is the schema's id, key or event time field", c.Label))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid replay: %w", errors.Join(errs...))
	}
	return nil
}

// PrepareSpec returns the copy of spec a replay decodes with: with
// FeaturesEvent, feature sets become event features read from the row (with
// their defaults), so the model input keeps its width and column order; and
// a label field, if given, is added as a passthrough field so its raw JSON
// reaches the replay. spec is not changed.
func PrepareSpec(spec *schemas.Spec, label string, features FeatureSource) (*schemas.Spec, error) {
	cp, _, err := prepareSpec(spec, label, features)
	return cp, err
}

// prepareSpec is PrepareSpec, also returning the label's record column
// (-1 without a label).
func prepareSpec(spec *schemas.Spec, label string, features FeatureSource) (*schemas.Spec, int, error) {
	cp := *spec
	cp.Features = slices.Clone(spec.Features)
	cp.Passthrough = slices.Clone(spec.Passthrough)
	cp.FeatureSets = slices.Clone(spec.FeatureSets)
	cp.Model.Outputs = slices.Clone(spec.Model.Outputs)
	if (features == FeaturesEvent || features == "") && len(cp.FeatureSets) > 0 {
		for _, fs := range cp.FeatureSets {
			for _, f := range fs.Features {
				d := f.Default
				cp.Features = append(cp.Features, schemas.Feature{Name: f.Name, Type: schemas.TypeFloat32, Default: &d})
			}
		}
		cp.FeatureSets = nil
	}
	labelCol := -1
	if label != "" {
		i := slices.Index(cp.Passthrough, label)
		if i < 0 {
			cp.Passthrough = append(cp.Passthrough, label)
			i = len(cp.Passthrough) - 1
		}
		labelCol = 4 + i // after event_id, key, event_time, features
	}
	if err := cp.Validate(); err != nil {
		return nil, 0, fmt.Errorf("preparing the replay schema: %w", err)
	}
	return &cp, labelCol, nil
}
