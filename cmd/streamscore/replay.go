package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

func init() { commands = append(commands, newReplayCmd) }

// replayOptions are the flags of `streamscore replay`.
type replayOptions struct {
	configPath string
	brokers    []string
	schema     string
	models     []string
	topic      string
	from, to   string
	in         []string
	out        string
	toTopic    string
	label      string
	task       string
	threshold  float64
	tolerance  float64
	score      string
	bins       int
	reports    []string
	features   string
	batchRows  int
	showIDs    int
	quiet      bool
	logLevel   string
	isolation  string
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
taken when the replay starts, so it ends) or from files (--in, JSONL or
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
  streamscore replay --schema payments.yaml --in 'history/*.parquet' --model champion=v3.onnx --model challenger=v4.onnx \
      --label is_fraud --out scored.parquet --report backtest.html
  streamscore replay --config streamscore.yaml --in events.jsonl --label amount --task regressor --report backtest.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd.OutOrStdout(), &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.configPath, "config", "c", "", "configuration file (streamscore.yaml): brokers, schema, model, batch size, Kafka security, production topics")
	brokersFlag(cmd, &o.brokers)
	f.StringVar(&o.schema, "schema", "", "event schema file (overrides schema)")
	f.StringArrayVar(&o.models, "model", nil, "ONNX model, [NAME=]PATH; repeat to compare (the first is the champion); default: the config's model")
	f.StringVarP(&o.topic, "topic", "t", "", "topic to replay")
	f.StringVar(&o.from, "from", "", "start of the time range, inclusive: RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02, UTC) or epoch milliseconds")
	f.StringVar(&o.to, "to", "", "end of the time range, exclusive (same forms as --from); default: the end of the topic when the replay starts")
	f.StringArrayVar(&o.in, "in", nil, "events file, .jsonl or .parquet; repeat it or use a glob ('data/*.parquet')")
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
	isolationFlag(cmd, &o.isolation, "with --topic: read_committed hides aborted and open transactions' records, read_uncommitted shows them (default: kafka-go's plain reader)")
	return cmd
}

// parseTimeFlag reads RFC 3339, a date (midnight UTC) or epoch milliseconds.
func parseTimeFlag(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: write RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or epoch milliseconds", name, s)
}

// modelFlag splits [NAME=]PATH; the name defaults to the file name without
// its extension.
func modelFlag(s string) (name, path string) {
	if i := strings.IndexByte(s, '='); i > 0 && !strings.ContainsAny(s[:i], `/\`) {
		return s[:i], s[i+1:]
	}
	return strings.TrimSuffix(filepath.Base(s), filepath.Ext(s)), s
}

// fileVersion names a model file by its content: "sha256:" and 12 hex
// digits, so a report says exactly which bytes were scored. A registry
// folder is named by its manifest instead, so it gets "".
func fileVersion(path string) (string, error) {
	if st, err := os.Stat(path); err != nil {
		return "", err
	} else if st.IsDir() {
		return "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func runReplay(stdout io.Writer, o *replayOptions) error {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	if len(o.brokers) > 0 {
		cfg.Brokers = o.brokers
	}
	if o.schema != "" {
		cfg.Schema = o.schema
	}
	from, to, err := o.check(&cfg)
	if err != nil {
		return err
	}
	sel, err := replay.ParseSelector(o.score)
	if err != nil {
		return fmt.Errorf("--score: %w", err)
	}
	log, err := newLogger(os.Stderr, o.logLevel, "text")
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signalContext(log)
	defer stop()

	features := replay.FeatureSource(o.features)
	path, err := buildScoringPath(ctx, &cfg, pathParts{features: features == replay.FeaturesRedis}, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer path.Close()
	models, closeModels, err := o.openModels(&cfg, path.spec)
	if err != nil {
		return err
	}
	defer closeModels()
	rc := replay.Config{
		Spec: path.spec, Models: models, Label: o.label, Task: replay.Task(o.task), Score: sel,
		Threshold: o.threshold, Tolerance: o.tolerance, Bins: o.bins, Features: features, Store: path.features,
		Policy: pipeline.Policy{MaxRows: cfg.Batch.MaxRows, MaxBytes: cfg.Batch.MaxBytes},
		Log:    log,
	}
	if o.batchRows > 0 {
		rc.Policy.MaxRows = o.batchRows
	}
	// The output first: a topic created now is in the metadata the source's
	// look-ups fetch next, which kafka-go's shared transport then caches.
	closeOut, err := o.openOutput(ctx, &cfg, &rc)
	if err != nil {
		return err
	}
	defer closeOut()
	count, err := o.openSource(ctx, &cfg, &rc, from, to)
	if err != nil {
		return err
	}
	return o.replay(ctx, stdout, rc, count)
}

// check validates the flags against each other and the config, and
// returns the time range.
func (o *replayOptions) check(cfg *config.Config) (from, to time.Time, err error) {
	switch {
	case o.topic == "" && len(o.in) == 0:
		return from, to, errors.New("name what to replay: --topic TOPIC (with --from/--to) or --in FILE")
	case o.topic != "" && len(o.in) > 0:
		return from, to, errors.New("--topic and --in: replay one or the other")
	case o.out != "" && o.toTopic != "":
		return from, to, errors.New("--out and --to-topic: write to one or the other")
	case cfg.Schema == "":
		return from, to, errors.New("--schema (or schema in --config) is required")
	}
	if from, err = parseTimeFlag("from", o.from); err != nil {
		return from, to, err
	}
	if to, err = parseTimeFlag("to", o.to); err != nil {
		return from, to, err
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, fmt.Errorf("--to (%s) must be after --from (%s)", to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	if o.toTopic != "" {
		for what, t := range map[string]string{"production output": cfg.Topics.Output, "input": cfg.Topics.Input, "dead-letter": cfg.Topics.DLQ, "replayed": o.topic} {
			if t != "" && o.toTopic == t {
				return from, to, fmt.Errorf("--to-topic %s is the %s topic: a replay writes to a topic of its own (e.g. %s.replay)", t, what, t)
			}
		}
	}
	for _, r := range o.reports {
		switch strings.ToLower(filepath.Ext(r)) {
		case ".html", ".htm", ".json":
		default:
			return from, to, fmt.Errorf("--report %s: name it .html (charts) or .json", r)
		}
	}
	if err := replay.FeatureSource(o.features).Validate(); err != nil {
		return from, to, fmt.Errorf("--features: %w", err)
	}
	return from, to, nil
}

// openModels opens every --model (or the config's model), each checked
// against the input the replay feeds it: event features and feature-set
// features side by side. The returned function closes them.
func (o *replayOptions) openModels(cfg *config.Config, spec *schemas.Spec) ([]replay.Model, func(), error) {
	var (
		models  []replay.Model
		routers []*model.Router
	)
	closeAll := func() {
		for _, r := range routers {
			r.Close()
		}
	}
	checkSpec, err := replay.PrepareSpec(spec, "", replay.FeaturesEvent)
	if err != nil {
		return nil, nil, err
	}
	if err := model.Init(cfg.OnnxRuntimeLib); err != nil {
		return nil, nil, err
	}
	flags := o.models
	if len(flags) == 0 {
		if cfg.Model.Path == "" {
			return nil, nil, errors.New("--model PATH (or model.path in --config) is required")
		}
		name := cfg.Model.Name
		if name == "" {
			name, _ = modelFlag(cfg.Model.Path)
		}
		flags = []string{name + "=" + cfg.Model.Path}
	}
	for _, fl := range flags {
		name, path := modelFlag(fl)
		mc := cfg.Model
		mc.Path, mc.Name = path, name
		// The config's model keeps its version; a --model file is named by
		// its content.
		if len(o.models) > 0 || mc.Version == "" {
			v, err := fileVersion(path)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("--model %s: %w", fl, err)
			}
			mc.Version = v
		}
		sc, err := openReplayModel(mc, checkSpec)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("--model %s: %w", fl, err)
		}
		routers = append(routers, sc)
		models = append(models, replay.Model{Name: name, Scorer: sc})
	}
	return models, closeAll, nil
}

// openOutput sets rc.Output from --out or --to-topic (creating the topic),
// and returns what closes it.
func (o *replayOptions) openOutput(ctx context.Context, cfg *config.Config, rc *replay.Config) (func(), error) {
	if o.toTopic != "" || o.topic != "" {
		// Fail fast, naming what answered, rather than hang on an address
		// that is not a broker; a signal ends the wait at once.
		dialer, err := cfg.Kafka.Dialer()
		if err != nil {
			return nil, err
		}
		if err := consumers.Reach(ctx, cfg.Brokers, dialer, cfg.Kafka.DialTimeoutOrDefault()); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("replay: stopped during start-up: %w", ctx.Err())
			}
			return nil, fmt.Errorf("connecting to Kafka (check brokers, kafka.tls and kafka.sasl): %w", err)
		}
	}
	switch {
	case o.out != "":
		out, err := replay.CreateFile(o.out)
		if err != nil {
			return nil, err
		}
		rc.Output = out
	case o.toTopic != "":
		kc, err := newKafkaConn(cfg.Brokers, &cfg.Kafka)
		if err != nil {
			return nil, err
		}
		if err := consumers.CreateTopics(ctx, kc.dialer, cfg.Brokers, cfg.Topics.Partitions, cfg.Topics.ReplicationFactor, o.toTopic); err != nil {
			return nil, err
		}
		pc := producers.Config{Brokers: cfg.Brokers, Topic: o.toTopic, Transport: kc.transport}
		w := pc.NewKafkaWriter()
		out, err := replay.NewTopicOutput(replay.TopicOutputConfig{Topic: o.toTopic, Writer: w})
		if err != nil {
			w.Close()
			return nil, err
		}
		rc.Output = out
		return func() { w.Close() }, nil
	}
	return func() {}, nil
}

// openSource sets rc.Source from --topic (its time range) or --in, and
// returns how to count the events it holds.
func (o *replayOptions) openSource(ctx context.Context, cfg *config.Config, rc *replay.Config, from, to time.Time) (func(context.Context) (int64, error), error) {
	if o.topic != "" {
		kc, err := newKafkaConn(cfg.Brokers, &cfg.Kafka)
		if err != nil {
			return nil, err
		}
		iso, err := parseIsolationFlag(o.isolation)
		if err != nil {
			return nil, err
		}
		src, err := replay.NewTopic(ctx, replay.TopicConfig{
			Brokers: cfg.Brokers, Topic: o.topic, From: from, To: to, Dialer: kc.dialer, Transport: kc.transport,
			Isolation: iso,
		})
		if err != nil {
			return nil, err
		}
		rc.Source = src
		return src.Count, nil
	}
	paths, err := replay.ExpandFiles(o.in)
	if err != nil {
		return nil, err
	}
	src, err := replay.NewFiles(paths)
	if err != nil {
		return nil, err
	}
	rc.Source = src
	rc.From, rc.To = from, to
	return src.Count, nil
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
	for _, path := range o.reports {
		if err := writeReport(path, rep); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "replayed %d events in %s (%.0f events/s)\n", rep.Events, el.Round(time.Millisecond), float64(rep.Events)/el.Seconds())
	return nil
}

// openReplayModel opens a model with the schema's output binding; a model
// that lacks one of the bound outputs (a challenger exported differently)
// is bound to all of its own numeric outputs instead, under their graph
// names, so champion and challenger need not share output names.
func openReplayModel(mc config.ModelConfig, spec *schemas.Spec) (*model.Router, error) {
	sc, err := model.OpenScorer(context.Background(), mc.Config, mc.WarmupRows, spec)
	if err == nil {
		return sc, nil
	}
	peek, perr := model.Open(model.Config{Path: mc.Path})
	if perr != nil {
		return nil, err
	}
	outs := peek.Outputs()
	peek.Close()
	have := map[string]bool{}
	for _, o := range outs {
		have[o.Name] = true
	}
	lacks := false
	for _, o := range spec.Model.Outputs {
		lacks = lacks || !have[o.Name]
	}
	if !lacks {
		return nil, err
	}
	cp := *spec
	cp.Model.Outputs = nil
	for _, o := range outs {
		if slices.Contains(replayNumeric, o.ElementType) && (len(o.Shape) == 1 || len(o.Shape) == 2) {
			cp.Model.Outputs = append(cp.Model.Outputs, schemas.Output{Name: o.Name, As: o.Name})
		}
	}
	if len(cp.Model.Outputs) == 0 {
		return nil, err
	}
	return model.OpenScorer(context.Background(), mc.Config, mc.WarmupRows, &cp)
}

// replayNumeric are the output element types a model may be scored on.
var replayNumeric = []string{"float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"}

func writeReport(path string, rep *replay.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if strings.ToLower(filepath.Ext(path)) == ".json" {
		err = rep.WriteJSON(f)
	} else {
		err = rep.WriteHTML(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}
