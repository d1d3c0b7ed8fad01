package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/replay"
)

func init() { commands = append(commands, newReplayCmd) }

// replayOptions are the flags of `streamscore replay`.
type replayOptions struct {
	configPath string
	// ov holds --brokers, --schema, --redis and --onnxruntime-lib.
	ov        overrides
	models    []string
	topic     string
	from, to  string
	in        []string
	inOld     []string // --in, the deprecated spelling of --file
	out       string
	toTopic   string
	label     string
	task      string
	threshold float64
	tolerance float64
	score     string
	bins      int
	reports   []string
	features  string
	batchRows int
	showIDs   int
	quiet     bool
	logLevel  string
	failOn    []string
	isolation string
}

func newReplayCmd() *cobra.Command {
	var o replayOptions
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Backtest models on history: a topic's time range or event files",
		Long: `replay scores past events through the same decode, enrich and inference code
as run, with one model or several, and reports how they did.

Events come from a topic's time range (--topic with --from and --to; each
partition is read from Kafka's offsets-for-times, and the end offsets are
taken when the replay starts, so it ends) or from files (--file, JSONL or
Parquet whose columns are event fields; repeat it or use a glob). A replay
never joins a consumer group and commits nothing.

Several --model flags score every batch with each model; the first is the
champion, the others challengers, and the report says how often and by how
much each challenger disagrees with the champion. --out writes every scored
row (id, key, event time, label, every model's outputs) as JSONL or Parquet;
--to-topic writes the same rows as JSON records to a topic of its own.

With --label FIELD the report holds, for classifiers, ROC AUC, PR AUC
(average precision), log loss, Brier score, accuracy, precision, recall and
F1 at --threshold, and a calibration table; for regressors RMSE, MAE, R² and
MAPE. --report FILE.html writes a self-contained page with ROC curves,
calibration plots and score histograms; --report FILE.json the whole report.

Rows leave in source order (files: line order; topics: merged by record
time, partition, offset) and batches close on size only, so the same inputs
give byte-identical outputs and reports.

Feature-set features (the ones run looks up in Redis) come from the event
rows by default (--features event: point-in-time values in the dataset),
from the online store (--features redis: today's values, which leak the
future into a backtest), or not at all (--features none: their defaults).`,
		Example: `  streamscore replay --config streamscore.yaml --topic events --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z --label is_fraud
  streamscore replay --schema payments.yaml --file 'history/*.parquet' --model champion=v3.onnx --model challenger=v4.onnx \
      --label is_fraud --out scored.parquet --report backtest.html
  streamscore replay --config streamscore.yaml --file events.jsonl --label amount --task regressor --report backtest.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd.OutOrStdout(), &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.configPath, "config", "c", "", "configuration file (streamscore.yaml): brokers, schema, model, batch size, Kafka security, production topics")
	brokersFlag(cmd, &o.ov.brokers)
	f.StringVar(&o.ov.schema, "schema", "", "event schema file (overrides schema)")
	f.StringArrayVar(&o.models, "model", nil, "ONNX model, [NAME=]PATH; repeat to compare (the first is the champion); default: the config's model")
	f.StringVarP(&o.topic, "topic", "t", "", "topic to replay")
	f.StringVar(&o.from, "from", "", "start of the time range, inclusive: RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02, UTC) or epoch milliseconds")
	f.StringVar(&o.to, "to", "", "end of the time range, exclusive (same forms as --from); default: the end of the topic when the replay starts")
	f.StringArrayVar(&o.in, "file", nil, "events file, .jsonl or .parquet; repeat it or use a glob ('data/*.parquet')")
	f.StringArrayVar(&o.inOld, "in", nil, "events file (deprecated: use --file)")
	f.MarkDeprecated("in", "use --file instead")
	f.StringVarP(&o.out, "out", "o", "", "write scored rows to this .jsonl or .parquet file")
	f.StringVar(&o.toTopic, "to-topic", "", "write scored rows to this topic (created if missing; never the production topics)")
	f.StringVar(&o.label, "label", "", "event field holding the true label or value; enables metrics")
	f.StringVar(&o.task, "task", "auto", "auto, classifier or regressor (auto: classifier when every label is 0 or 1)")
	f.Float64Var(&o.threshold, "threshold", replay.DefaultThreshold, "classifier decision threshold: positive when score >= threshold")
	f.Float64Var(&o.tolerance, "tolerance", 0, "regressors disagree when their scores differ by more than this")
	f.StringVar(&o.score, "score", "", "output the metrics use, OUTPUT or OUTPUT[COLUMN] (default: the only output, else probabilities[1] of a width-2 output)")
	f.IntVar(&o.bins, "bins", replay.DefaultBins, "calibration bins")
	f.StringArrayVar(&o.reports, "report", nil, "write the report to FILE.html (charts) or FILE.json; repeatable")
	f.StringVar(&o.features, "features", string(replay.FeaturesEvent), "where feature-set features come from: event, redis or none")
	f.IntVar(&o.batchRows, "batch-rows", 0, "rows per batch (default: the config's batch.max_rows)")
	f.IntVar(&o.showIDs, "show-ids", 20, "disagreeing row ids to print per challenger (-1: all)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar")
	f.StringVar(&o.logLevel, "log-level", "error", "engine log level on stderr (debug, info, warn, error)")
	f.StringSliceVar(&o.ov.redis, "redis", nil, "Redis host:port, several for a Cluster, for --features redis (overrides redis.addrs and STREAMSCORE_REDIS)")
	f.StringVar(&o.ov.onnxLib, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (overrides onnxruntime_lib and ONNXRUNTIME_LIB)")
	f.StringSliceVar(&o.failOn, "fail-on", nil, "exit 3 when the replay shows a problem: dead-letters (any event dead-lettered), unlabeled (with --label: a row without a readable label); repeatable")
	isolationFlag(cmd, &o.isolation, "with --topic: read_committed hides aborted and open transactions' records, read_uncommitted shows them (default: kafka-go's plain reader)")
	return cmd
}

func runReplay(stdout io.Writer, o *replayOptions) error {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	o.ov.apply(&cfg)
	if err := replay.CheckFailOn(o.failOn); err != nil {
		return usageErrorf("%w", err)
	}
	iso, err := parseIsolationFlag(o.isolation)
	if err != nil {
		return err
	}
	plan := replay.Plan{
		Topic: o.topic, From: o.from, To: o.to, Isolation: iso, Files: append(o.in, o.inOld...), Out: o.out, ToTopic: o.toTopic,
		Reports: o.reports, Features: replay.FeatureSource(o.features), Schema: cfg.Schema,
		Protected: map[string]string{"production output": cfg.Topics.Output, "input": cfg.Topics.Input, "dead-letter": cfg.Topics.DLQ},
	}
	if err := plan.Validate(); err != nil {
		return err
	}
	sel, err := replay.ParseSelector(o.score)
	if err != nil {
		return fmt.Errorf("--score: %w", err)
	}
	log, err := service.NewLogger(os.Stderr, o.logLevel, "text")
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := service.SignalContext(log)
	defer stop()
	path, err := scoring.Build(ctx, &cfg, scoring.Parts{Features: plan.Features == replay.FeaturesRedis, Compare: o.models, Comparing: true, JSONRows: len(plan.Files) > 0}, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer path.Close()
	rc := replay.Config{
		Spec: path.Spec, Models: path.Compared, Label: o.label, Task: replay.Task(o.task), Score: sel,
		Threshold: o.threshold, Tolerance: o.tolerance, Bins: o.bins, Features: plan.Features, Store: path.Features,
		Policy: pipeline.Policy{MaxRows: cfg.Batch.MaxRows, MaxBytes: cfg.Batch.MaxBytes},
		Log:    log,
	}
	if o.batchRows > 0 {
		rc.Policy.MaxRows = o.batchRows
	}
	var k replay.Kafka
	if plan.NeedsKafka() {
		if k, err = service.ReplayKafka(&cfg); err != nil {
			return err
		}
	}
	// The output first: a topic created now is in the metadata the source's
	// look-ups fetch next, which kafka-go's shared transport then caches.
	closeOut, err := plan.OpenOutput(ctx, k, &rc)
	if err != nil {
		return err
	}
	defer closeOut()
	count, err := plan.OpenSource(ctx, k, &rc)
	if err != nil {
		return err
	}
	return o.replay(ctx, stdout, rc, count)
}

// replay runs it with a progress bar, and prints and writes the report.
func (o *replayOptions) replay(ctx context.Context, stdout io.Writer, rc replay.Config, count func(context.Context) (int64, error)) error {
	total, err := count(ctx)
	if err != nil {
		return err
	}
	finishBar := func() {}
	if !o.quiet {
		bar := newBar(total, "replaying")
		rc.Progress = func(done int64) { bar.Set64(min(done, total)) }
		finishBar = func() { bar.Finish() }
	}
	start := time.Now()
	rep, err := replay.Run(ctx, rc)
	finishBar()
	if err != nil {
		if errors.Is(err, replay.ErrInterrupted) {
			return errors.New("replay interrupted: no output or report was written")
		}
		return err
	}
	el := time.Since(start)
	if err := rep.WriteText(stdout, o.showIDs); err != nil {
		return err
	}
	if err := rep.WriteFiles(o.reports...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "replayed %d events in %s (%.0f events/s)\n", rep.Events, el.Round(time.Millisecond), float64(rep.Events)/el.Seconds())
	return checkFailed(replay.FailOn(o.failOn, rep))
}
