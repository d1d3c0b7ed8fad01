package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/ops"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/producers"
)

// overrides are the flags that replace config keys.
type overrides struct {
	brokers []string
	group   string
	input   string
	output  string
	dlq     string
	model   string
	schema  string
	http    string
	// modelName, redis and onnxLib are empty unless their flags are
	// registered.
	modelName string
	redis     []string
	onnxLib   string
	// iso is --isolation (run only).
	iso string
}

func (o *overrides) register(cmd *cobra.Command) {
	o.registerTopics(cmd)
	cmd.Flags().StringVar(&o.group, "group", "", "consumer group id (overrides group)")
	o.registerScoring(cmd)
}

// registerScoring adds the flags of the scoring path (model, schema,
// Redis, ONNX Runtime) and the operations address, for serve.
func (o *overrides) registerScoring(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "ONNX model file or registry folder (overrides model.path; the model is named after the file unless --model-name or model.name says otherwise)")
	f.StringVar(&o.modelName, "model-name", "", "model name in scored events and drift windows (overrides model.name)")
	f.StringVar(&o.schema, "schema", "", "event schema file (overrides schema)")
	f.StringVar(&o.http, "http-addr", "", "metrics and health address host:port (overrides http.addr)")
	f.StringSliceVar(&o.redis, "redis", nil, "Redis host:port, several for a Cluster (overrides redis.addrs and STREAMSCORE_REDIS)")
	f.StringVar(&o.onnxLib, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (overrides onnxruntime_lib and ONNXRUNTIME_LIB)")
}

// registerTopics adds only the flags that name brokers and topics, for
// commands that use nothing else (topics create).
func (o *overrides) registerTopics(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&o.brokers, "brokers", nil, "Kafka bootstrap brokers host:port (overrides brokers and STREAMSCORE_BROKERS)")
	f.StringVar(&o.input, "input-topic", "", "input topic (overrides topics.input)")
	f.StringVar(&o.output, "output-topic", "", "scored-event topic (overrides topics.output)")
	f.StringVar(&o.dlq, "dlq-topic", "", "dead-letter topic (overrides topics.dlq)")
	if cmd.Name() == "run" {
		isolationFlag(cmd, &o.iso, "how the input is read: read_committed or read_uncommitted (overrides consumer.isolation; default read_committed under delivery.mode exactly_once)")
	}
}

func (o *overrides) apply(c *config.Config) {
	if len(o.brokers) > 0 {
		c.Brokers = o.brokers
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Group, o.group)
	set(&c.Topics.Input, o.input)
	set(&c.Topics.Output, o.output)
	set(&c.Topics.DLQ, o.dlq)
	if o.model != "" && o.model != c.Model.Path {
		// Another model: named after its file, unless --model-name says
		// otherwise, so scored events and drift windows name what scores.
		c.Model.Path, c.Model.Name = o.model, ""
	}
	set(&c.Model.Name, o.modelName)
	set(&c.OnnxRuntimeLib, o.onnxLib)
	if len(o.redis) > 0 {
		c.Redis.Addrs = o.redis
	}
	set(&c.Schema, o.schema)
	set(&c.HTTP.Addr, o.http)
	set(&c.Consumer.Isolation, o.iso)
}

func loadConfig(path string, o *overrides) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	o.apply(&cfg)
	return cfg, cfg.Validate()
}

func newRunCmd() *cobra.Command {
	var (
		configPath string
		o          overrides
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume the input topic, score events, publish scored events",
		Long: `run joins the consumer group, scores every event of the input topic in
micro-batches, and publishes one scored event per input event to the output
topic (events that cannot be scored go to the dead-letter topic with the
reason). Offsets are committed only once results are acknowledged.

SIGINT or SIGTERM drains: fetching stops, in-flight batches are published and
committed, and run exits 0 within pipeline.drain_timeout. A second signal
stops at once; what was in flight is scored again after a restart.`,
		Example: `  streamscore run --config streamscore.yaml
  STREAMSCORE_BROKERS=127.0.0.1:9092 streamscore run --config streamscore.yaml --model models/fraud/3/model.onnx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath, &o)
			if err != nil {
				return err
			}
			log, err := service.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			if err != nil {
				return err
			}
			ctx, abort := service.SignalContext(log)
			defer abort()
			return runScorer(ctx, cfg, log, nil)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (streamscore.yaml)")
	o.register(cmd)
	return cmd
}

// runHooks lets the demo observe a running scorer.
type runHooks struct {
	started func(e *pipeline.Engine)
}

// runScorer wires the adapters into the engine and runs it until ctx is
// done (then drains) or it fails.
func runScorer(ctx context.Context, cfg config.Config, log *slog.Logger, hooks *runHooks) error {
	service.UseRedisLogger(log)
	if err := model.Init(cfg.OnnxRuntimeLib); err != nil {
		return err
	}
	reg := ops.NewRegistry(version, commit)
	dialer, err := cfg.Kafka.Dialer()
	if err != nil {
		return err
	}
	transport, err := cfg.Kafka.Transport()
	if err != nil {
		return err
	}
	cc := cfg.ConsumerConfig()
	cc.Dialer = dialer
	var settle func(context.Context) error // the transactional sink's, set below
	cc.Settle = func(ctx context.Context) error {
		if settle == nil {
			return nil
		}
		return settle(ctx)
	}
	src, err := consumers.New(cc, log, reg)
	if err != nil {
		return err
	}
	sink, txn, err := newSink(&cfg, transport, src, log, reg)
	if err != nil {
		return err
	}
	if txn != nil {
		settle = txn.Settle
	}
	defer sink.Close()
	path, err := scoring.Build(ctx, &cfg, scoring.Parts{Features: true, Models: true, Drift: true, Tracing: true, Version: version}, log, reg)
	if err != nil {
		return err
	}
	defer path.Close()
	engCfg := path.EngineConfig(&cfg)
	if engCfg.Encoder, err = cfg.OutputEncoder(ctx, path.Spec); err != nil {
		return err
	}
	eng, err := pipeline.New(engCfg, src, path.Router, sink, log, reg)
	if err != nil {
		return err
	}
	// The operations endpoint answers from here on: 503 with the reason
	// until the brokers answer and the health check passes.
	var health service.HealthGate
	stopOps, err := service.StartOps(ctx, &cfg, service.OpsEndpoint{Command: "run", Ready: health.Ready, Healthy: health.Healthy, Pprof: cfg.HTTP.Pprof, Routes: path.Routes}, reg, log)
	if err != nil {
		return err
	}
	defer stopOps(2 * time.Second)
	client, err := service.AwaitKafka(ctx, &cfg, dialer, transport, log)
	if err != nil || client == nil {
		return err
	}
	if w, ok := sink.(*producers.Writer); ok && cfg.Producer.BatchSize == 0 {
		followOutputPartitions(ctx, &cfg, dialer, w, log)
	}
	if txn != nil {
		// Before the group fetches committed offsets: this completes or
		// aborts what a previous process with this id left open.
		if err := txn.Init(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("initialising the transactional producer (delivery.mode exactly_once): %w", err)
		}
	}
	h := consumers.NewHealth(cfg.Health, client, src, []string{cfg.Topics.Output, cfg.Topics.DLQ}, log, reg)
	healthCtx, stopHealth := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHealth()
	go h.Run(healthCtx)
	health.Set(h)
	log.Info("scoring", "input", cfg.Topics.Input, "output", cfg.Topics.Output, "dlq", cfg.Topics.DLQ,
		"group", cfg.Group, "model", cfg.Model.Path, "model_version", cfg.Model.Version, "schema", path.Spec.String(),
		"max_rows", cfg.Batch.MaxRows, "max_wait", cfg.Batch.MaxWait)
	if hooks != nil && hooks.started != nil {
		hooks.started(eng)
	}
	if err := eng.Run(ctx); err != nil {
		return fmt.Errorf("scoring: %w", err)
	}
	return nil
}

// followOutputPartitions sizes w's batches for the output topic's own
// partition count when it differs from topics.partitions, which the
// unset producer.batch_size was computed from. Failing to read the count
// keeps that size: it is slower when wrong, not incorrect.
func followOutputPartitions(ctx context.Context, cfg *config.Config, dialer *kafka.Dialer, w *producers.Writer, log *slog.Logger) {
	parts, err := consumers.Partitions(ctx, dialer, cfg.Brokers, cfg.Topics.Output)
	if err != nil {
		log.Warn("keeping producer.batch_size at its value for topics.partitions", "batch_size", w.BatchSize(), "err", err)
		return
	}
	if n := len(parts); n != cfg.Topics.Partitions {
		w.SetBatchSize(cfg.ProducerBatchSizeFor(n))
		log.Info("producer.batch_size follows the output topic's partitions", "topic", cfg.Topics.Output,
			"partitions", n, "topics.partitions", cfg.Topics.Partitions, "batch_size", w.BatchSize())
	}
}

// newSink returns the Writer (at_least_once), or the transactional sink
// that commits src's offsets (exactly_once), then also returned as txn.
func newSink(cfg *config.Config, transport *kafka.Transport, src *consumers.Group, log *slog.Logger, reg prometheus.Registerer) (sink interface {
	pipeline.Sink
	Close() error
}, txn *producers.Txn, err error) {
	if !cfg.Delivery.Exactly() {
		pc := cfg.ProducerConfig()
		pc.Transport = transport
		w, err := producers.New(pc, log, reg)
		return w, nil, err
	}
	tc := cfg.TxnConfig()
	tc.Transport = transport
	tc.Member = func() (producers.Member, bool) {
		m, ok := src.Membership()
		return producers.Member(m), ok
	}
	txn, err = producers.NewTxn(tc, log, reg)
	if err != nil {
		return nil, nil, err
	}
	log.Info("exactly-once delivery: results and offsets commit in Kafka transactions", "transactional_id", tc.Delivery.TransactionalID,
		"batches_per_transaction", tc.Delivery.BatchesPerTransaction, "transaction_interval", tc.Delivery.TransactionInterval, "isolation", cfg.Isolation())
	return txn, txn, nil
}
