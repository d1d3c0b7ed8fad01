// Package drift watches the distribution of model inputs and outputs for
// change against a baseline taken from training data.
//
// A Baseline (built by Builder, written by `streamscore baseline`) holds,
// per column, bin edges (quantiles of the training values) and reference
// counts for a numeric column, or a vocabulary and counts for a categorical
// one, plus the count of missing values. Columns are the model's scalar
// input features, categorical passthrough fields, and the model's outputs
// (prediction drift). A string feature (typed inputs) is categorical: its
// vocabulary is the training data's most frequent values, and every other
// value, one never seen in training included, counts in the last "other"
// bin, compared by chi-squared as well as PSI and Jensen–Shannon. Array
// features (embeddings) are not watched.
//
// At run time a Monitor is the engine's observer: ObserveBatch folds each
// scored batch into local histograms of the current time bucket (counts
// only, never raw events) without any I/O, and Run flushes those counts to a
// Store (Redis in production) in one pipelined round trip per flush, so that
// every replica adds into the same window. When the store is down, counts
// are kept (up to Config.MaxPendingBuckets buckets) and flushed later; what
// cannot be kept is counted as lost. A window is the sum of the last
// Config.Window buckets. Run also evaluates the window: it computes, per
// column, PSI, Kolmogorov–Smirnov, Jensen–Shannon, Wasserstein and
// chi-squared scores (see Compare), exports them as Prometheus gauges, and
// applies per-column thresholds with hysteresis. One replica at a time (the
// holder of a lease in the store) turns state changes into drift events on
// an EventSink (a Kafka topic) and log lines, so an alert is raised once,
// not once per replica, and survives restarts.
//
// Keys. Counts of column c in the bucket starting at Unix millisecond t are
// the hash prefix:{model:version:baseline}:c:t (field: bin index, or "m" for
// missing values); the bucket's event count is the hash
// prefix:{model:version:baseline}:_events:t (field "n"). Every key lives
// Window+1 buckets from its last write. The prefix (default "drift") keeps
// replays apart from the live window; the baseline's ID keeps a rebuilt
// baseline's bins apart from the old ones; the braces are a Redis Cluster
// hash tag, so a namespace's keys share one slot and a flush is one
// MULTI/EXEC on one node. Per namespace there are also _state (a hash of
// column alert states), _leader (the evaluation lease) and _history (a list
// of past evaluations, for the report).
//
// Missing values. The decoder gives the model a default for an event feature
// that is absent and has a default, before any observer sees the batch; the
// baseline does the same (such values are binned at the default and counted
// in Column.Defaulted), so reference and live histograms agree. A value
// counts as missing when it is absent with no default (in training data),
// null or NaN, and, for a feature-set feature, when the row was scored with
// defaults because its entity could not be read (ScoredBatch.FeaturesMissing,
// which marks rows, not sets: with several feature sets, every feature-set
// column of such a row counts as missing). Scores compare the distributions
// of present values; the change in the missing rate is its own score.
//
// Build makes a baseline from training files (streamscore baseline; a
// model with typed inputs gets the rows as events through the caller's
// EventReader, replay's file source, decoded by the schema), Start
// runs a Monitor for run, and WriteStatusJSON and WriteReportFile are what
// drift status and drift report print.
//
// The package imports schemas, pipeline/rowfile (training files), go-redis,
// kafka-go, Arrow and Prometheus; it never imports the engine (pipeline), whose Observer
// interface Monitor satisfies by its ObserveBatch method.
package drift
