package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/console"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/drift"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/tracing"
)

// Config is streamscore.yaml. Every field documents its zero value; the
// file is decoded over DefaultConfig and validated once at start-up.
type Config struct {
	// Brokers are the Kafka bootstrap servers. Env STREAMSCORE_BROKERS
	// (comma-separated) and --brokers override it.
	Brokers []string `yaml:"brokers"`
	// Group is the consumer group shared by every replica.
	Group string `yaml:"group"`
	// Kafka holds TLS and SASL settings for every broker connection.
	Kafka  KafkaSecurityConfig `yaml:"kafka"`
	Topics TopicsConfig        `yaml:"topics"`
	// Schema is the event schema file, relative to this file.
	Schema string      `yaml:"schema"`
	Model  ModelConfig `yaml:"model"`
	// OnnxRuntimeLib is the path of libonnxruntime.so.1; empty means
	// $ONNXRUNTIME_LIB.
	OnnxRuntimeLib string         `yaml:"onnxruntime_lib"`
	Batch          BatchConfig    `yaml:"batch"`
	Pipeline       PipelineConfig `yaml:"pipeline"`
	Consumer       ConsumerConfig `yaml:"consumer"`
	Producer       ProducerConfig `yaml:"producer"`
	// Delivery is at-least-once (the default) or exactly-once (package
	// producers, DeliveryConfig).
	Delivery producers.DeliveryConfig `yaml:"delivery"`
	HTTP     HTTPConfig               `yaml:"http"`
	// Health says when /readyz and /healthz report a stall.
	Health consumers.HealthConfig `yaml:"health"`
	// Console is the live page at / on http.addr (package console).
	Console console.Config `yaml:"console"`
	// Tracing carries trace headers and exports spans (package tracing).
	Tracing  tracing.Config  `yaml:"tracing"`
	Redis    RedisConfig     `yaml:"redis"`
	Drift    drift.Config    `yaml:"drift"`
	Features features.Config `yaml:"features"`
	Log      LogConfig       `yaml:"log"`

	// src is the file Load read, so Validate can say where each key is;
	// nil for a Config built in code.
	src *source
}

// TopicsConfig names the topics and how `topics create` makes them.
type TopicsConfig struct {
	Input  string `yaml:"input"`
	Output string `yaml:"output"`
	// DLQ is the dead-letter topic; empty means dead letters are logged and
	// counted but not published.
	DLQ               string `yaml:"dlq"`
	Partitions        int    `yaml:"partitions"`
	ReplicationFactor int    `yaml:"replication_factor"`
	// OutputFormat is how scored events are written: json (the zero value
	// means json) or avro (see OutputEncoder).
	OutputFormat string `yaml:"output_format"`
	// OutputSchemaID, when positive, is the registry id Avro scored events
	// carry, the schema being registered by hand; zero means register it in
	// OutputRegistry (or the event schema's registry).
	OutputSchemaID int `yaml:"output_schema_id"`
	// OutputRegistry is the registry Avro scored events' schema is
	// registered in; the zero value means the event schema's registry.url.
	OutputRegistry OutputRegistry `yaml:"output_registry"`
}

// BatchConfig is the micro-batch policy (see pipeline.Policy).
type BatchConfig struct {
	Mode          pipeline.Mode `yaml:"mode"`
	MaxRows       int           `yaml:"max_rows"`
	MaxBytes      int           `yaml:"max_bytes"`
	MaxWait       time.Duration `yaml:"max_wait"`
	TargetLatency time.Duration `yaml:"target_latency"`
}

// Policy returns the batch policy the config describes.
func (b BatchConfig) Policy() pipeline.Policy {
	return pipeline.Policy{Mode: b.Mode, MaxRows: b.MaxRows, MaxBytes: b.MaxBytes, MaxWait: b.MaxWait, TargetLatency: b.TargetLatency}
}

// PipelineConfig tunes the engine.
type PipelineConfig struct {
	InFlight     int           `yaml:"in_flight"`
	Publishes    int           `yaml:"publishes"`
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// ConsumerConfig tunes the input side; names follow kafka-go.
type ConsumerConfig struct {
	StartOffset       string        `yaml:"start_offset"`
	MinBytes          int           `yaml:"min_bytes"`
	MaxBytes          int           `yaml:"max_bytes"`
	MaxWait           time.Duration `yaml:"max_wait"`
	QueueCapacity     int           `yaml:"queue_capacity"`
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	RebalanceTimeout  time.Duration `yaml:"rebalance_timeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	CommitInterval    time.Duration `yaml:"commit_interval"`
	RevokeTimeout     time.Duration `yaml:"revoke_timeout"`
	// Isolation is read_committed or read_uncommitted (see
	// consumers.Isolation). Empty means read_committed when
	// delivery.mode is exactly_once, else read_uncommitted (kafka-go's
	// plain reader with fetch: per_partition).
	Isolation string `yaml:"isolation"`
	// Fetch is per_broker (one Fetch request per broker for all of its
	// assigned partitions; empty means this) or per_partition (see
	// consumers.FetchMode).
	Fetch string `yaml:"fetch"`
}

// ProducerConfig tunes the output side; names follow kafka-go.
type ProducerConfig struct {
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	BatchSize    int           `yaml:"batch_size"`
	BatchBytes   int64         `yaml:"batch_bytes"`
	// MaxMessageBytes is the largest record published (see
	// producers.Config.MaxMessageBytes); keep it at or under the output
	// and dead-letter topics' max.message.bytes.
	MaxMessageBytes int           `yaml:"max_message_bytes"`
	Compression     string        `yaml:"compression"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	// Requests is per_partition (kafka-go's Writer) or per_broker (see
	// producers.Requests).
	Requests string `yaml:"requests"`
}

// HTTPConfig is the operations endpoint (/metrics, /healthz, /readyz).
type HTTPConfig struct {
	// Addr is host:port; empty disables the endpoint.
	Addr string `yaml:"addr"`
	// Pprof serves Go's profiler under /debug/pprof/ (off by default; the
	// endpoint has no authentication, so keep addr on a private interface).
	Pprof bool `yaml:"pprof"`
}

// LogConfig sets the log level (debug, info, warn, error) and format (json,
// text, or auto: text on a terminal, JSON otherwise).
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// DefaultConfig returns the configuration a file is decoded over.
func Default() Config {
	return Config{
		Brokers: []string{"127.0.0.1:9092"},
		Group:   "streamscore",
		Topics:  TopicsConfig{Input: "events", Output: "scored", DLQ: "events.dlq", Partitions: 8, ReplicationFactor: 1},
		Model:   ModelConfig{Config: model.Config{Sessions: 1, IntraOpThreads: 1, InterOpThreads: 1, GraphOptimization: "all", Version: "1"}},
		Batch: BatchConfig{Mode: pipeline.DefaultPolicy.Mode, MaxRows: pipeline.DefaultPolicy.MaxRows, MaxBytes: pipeline.DefaultPolicy.MaxBytes,
			MaxWait: pipeline.DefaultPolicy.MaxWait, TargetLatency: pipeline.DefaultPolicy.TargetLatency},
		Pipeline: PipelineConfig{InFlight: 2, Publishes: 4, DrainTimeout: 30 * time.Second},
		Consumer: ConsumerConfig{
			StartOffset: "earliest", MinBytes: 1, MaxBytes: 10 << 20, MaxWait: time.Second,
			QueueCapacity: 1000, CommitInterval: 100 * time.Millisecond, RevokeTimeout: 10 * time.Second,
			SessionTimeout: 30 * time.Second, RebalanceTimeout: 30 * time.Second, HeartbeatInterval: 3 * time.Second,
			Fetch: string(consumers.FetchPerBroker),
		},
		Producer: ProducerConfig{BatchTimeout: 100 * time.Microsecond, BatchBytes: 1000000, MaxMessageBytes: producers.DefaultMaxMessageBytes, Compression: "none", WriteTimeout: 10 * time.Second, Requests: string(producers.PerPartition)},
		Delivery: producers.DefaultDelivery(),
		Health:   consumers.DefaultHealth(),
		Kafka:    KafkaSecurityConfig{DialTimeout: 10 * time.Second, StartupTimeout: time.Minute},
		HTTP:     HTTPConfig{Addr: "127.0.0.1:9464"},
		Console:  console.Default(),
		Tracing:  tracing.Default(),
		Log:      LogConfig{Level: "info", Format: "auto"},
	}
}

var EnvRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default} with the environment's
// values, outside comments. Other dollar signs are left alone. It returns,
// per 1-based line, where the expansions fell, so positions in the
// expanded text map back to the file as written.
func expandEnv(b []byte) ([]byte, map[int][]shift, error) {
	var missing []string
	shifts := map[int][]shift{}
	lines := bytes.SplitAfter(b, []byte("\n"))
	var out []byte
	for i, line := range lines {
		c := commentStart(line)
		part := line[:c]
		last, runes := 0, 0 // runes: the expanded line's length so far
		for _, m := range EnvRef.FindAllSubmatchIndex(part, -1) {
			runes += utf8.RuneCount(part[last:m[0]])
			out = append(out, part[last:m[0]]...)
			name := string(part[m[2]:m[3]])
			var val []byte
			if v, ok := os.LookupEnv(name); ok {
				val = []byte(v)
			} else if m[4] >= 0 {
				val = part[m[6]:m[7]]
			} else {
				missing = append(missing, name)
			}
			n := utf8.RuneCount(val)
			shifts[i+1] = append(shifts[i+1], shift{at: runes, expLen: n, origLen: utf8.RuneCount(part[m[0]:m[1]])})
			runes += n
			out = append(out, val...)
			last = m[1]
		}
		out = append(out, part[last:]...)
		out = append(out, line[c:]...)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("environment variables referenced but not set: %s (set them or write ${NAME:-default})", strings.Join(missing, ", "))
	}
	return out, shifts, nil
}

// commentStart returns where a YAML comment begins on line: a '#' at the
// start or after a space, outside quotes; len(line) if there is none.
func commentStart(line []byte) int {
	var quote byte
	for i, c := range line {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return i
		}
	}
	return len(line)
}

// LoadConfig reads path (if not empty) over DefaultConfig, applies the
// environment overrides, resolves relative paths against the file's folder,
// and validates.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("reading config: %w", err)
		}
		src := raw
		raw, shifts, err := expandEnv(raw)
		if err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		if err := cfg.decode(path, src, raw, shifts); err != nil {
			return cfg, err
		}
		dir := filepath.Dir(path)
		cfg.Schema = resolve(dir, cfg.Schema)
		cfg.Model.Path = resolve(dir, cfg.Model.Path)
		cfg.Drift.Baseline = resolve(dir, cfg.Drift.Baseline)
		cfg.Topics.OutputRegistry.resolve(dir)
	}
	if v := os.Getenv("STREAMSCORE_BROKERS"); v != "" {
		cfg.Brokers = SplitList(v)
		cfg.src.override("brokers")
	}
	if os.Getenv("STREAMSCORE_REDIS") != "" {
		cfg.src.override("redis.addrs")
	}
	cfg.Redis.applyEnv()
	if cfg.OnnxRuntimeLib == "" {
		cfg.OnnxRuntimeLib = os.Getenv("ONNXRUNTIME_LIB")
	}
	return cfg, nil
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate reports every problem, each naming its key and the fix, and,
// for a Config that Load read, the file, line and column of the key.
func (c *Config) Validate() error {
	errs := c.problems()
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if c.src != nil {
		err = c.src.locate(err)
	}
	return fmt.Errorf("invalid configuration:\n%w", err)
}

// problems lists what Validate reports, one error per problem (an error
// may hold several lines, as errors.Join writes them).
func (c *Config) problems() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Brokers) == 0 {
		add("brokers: at least one host:port is required (or set STREAMSCORE_BROKERS)")
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			add("brokers: %q has no port; write host:port", b)
		}
	}
	if c.Group == "" {
		add("group: a consumer group id is required")
	}
	if c.Topics.Input == "" {
		add("topics.input: required")
	}
	if c.Topics.Output == "" {
		add("topics.output: required")
	}
	if c.Topics.Input != "" && (c.Topics.Input == c.Topics.Output || c.Topics.Input == c.Topics.DLQ) {
		add("topics: input %q must differ from output and dlq, or scored events would be scored again", c.Topics.Input)
	}
	errs = append(errs, c.Topics.outputProblems()...)
	if c.Topics.Partitions < 1 {
		add("topics.partitions: must be at least 1")
	}
	if c.Topics.ReplicationFactor < 1 {
		add("topics.replication_factor: must be at least 1")
	}
	if c.Schema == "" {
		add("schema: the event schema file is required")
	}
	if c.Model.Path == "" {
		add("model.path: the ONNX model file is required (or pass --model)")
	}
	if c.Model.Name == "" && c.Model.Path != "" {
		c.Model.Name = model.NameFromPath(c.Model.Path)
	}
	if err := c.Model.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Batch.Policy().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Pipeline.InFlight < 1 {
		add("pipeline.in_flight: must be at least 1")
	}
	if c.Pipeline.Publishes < 1 {
		add("pipeline.publishes: must be at least 1")
	}
	if c.Pipeline.DrainTimeout <= 0 {
		add("pipeline.drain_timeout: must be a positive duration such as 30s")
	}
	switch c.Consumer.StartOffset {
	case "earliest", "latest":
	default:
		add("consumer.start_offset: %q is not earliest or latest", c.Consumer.StartOffset)
	}
	if c.Consumer.RebalanceTimeout > 0 && c.Consumer.RevokeTimeout >= c.Consumer.RebalanceTimeout {
		add("consumer.revoke_timeout: must be shorter than consumer.rebalance_timeout")
	}
	cc := c.ConsumerConfig()
	if err := cc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Delivery.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Delivery.Exactly() && c.Pipeline.Publishes < c.Delivery.BatchesPerTransaction {
		add("pipeline.publishes: %d is below delivery.batches_per_transaction (%d), so transactions would never fill; raise pipeline.publishes", c.Pipeline.Publishes, c.Delivery.BatchesPerTransaction)
	}
	pc := c.ProducerConfig()
	if err := pc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Health.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Redis.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Features.Validate(); err != nil {
		errs = append(errs, InSection("features", err))
	}
	if err := c.Drift.Validate(); err != nil {
		errs = append(errs, InSection("drift", err))
	}
	if err := c.Console.Validate(); err != nil {
		errs = append(errs, InSection("console", err))
	}
	if err := c.Tracing.Validate(); err != nil {
		errs = append(errs, InSection("tracing", err))
	}
	if err := checkAddr(c.HTTP.Addr); err != nil {
		add("http.addr: %v (e.g. 127.0.0.1:9464, or :9464 for every interface; empty turns the endpoint off)", err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		add("log.format: %q is not one of auto, json, text", c.Log.Format)
	}
	return errs
}

// checkAddr reports whether addr, if set, is host:port with a numeric or
// named port.
func checkAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if port == "" {
		return fmt.Errorf("%q has no port", addr)
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
		return fmt.Errorf("%q: port %d is outside 0..65535", addr, n)
	}
	return nil
}

// inSection prefixes each of err's problems (one per line, as
// errors.Join writes them) with the section's key, so a package's
// "cache_ttl: ..." reads "features.cache_ttl: ..." in the file's terms.
func InSection(section string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = section + "." + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

func (c *Config) ConsumerConfig() consumers.Config {
	start := kafka.FirstOffset
	if c.Consumer.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	return consumers.Config{
		Brokers: c.Brokers, GroupID: c.Group, Topic: c.Topics.Input, StartOffset: start,
		MinBytes: c.Consumer.MinBytes, MaxBytes: c.Consumer.MaxBytes, MaxWait: c.Consumer.MaxWait,
		QueueCapacity: c.Consumer.QueueCapacity, SessionTimeout: c.Consumer.SessionTimeout,
		RebalanceTimeout: c.Consumer.RebalanceTimeout, HeartbeatInterval: c.Consumer.HeartbeatInterval,
		CommitInterval: c.Consumer.CommitInterval, RevokeTimeout: c.Consumer.RevokeTimeout,
		Isolation: c.Isolation(), Fetch: consumers.FetchMode(c.Consumer.Fetch), Transactional: c.Delivery.Exactly(),
	}
}

// Isolation returns consumer.isolation, read_committed by default in
// exactly_once mode.
func (c *Config) Isolation() consumers.Isolation {
	if c.Consumer.Isolation == "" && c.Delivery.Exactly() {
		return consumers.ReadCommitted
	}
	return consumers.Isolation(c.Consumer.Isolation)
}

// TransactionalID returns delivery.transactional_id, or "<group>-<host
// name>" when it is empty.
func (c *Config) TransactionalID() string {
	if c.Delivery.TransactionalID != "" {
		return c.Delivery.TransactionalID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "streamscore"
	}
	return c.Group + "-" + host
}

// TxnConfig returns the transactional sink's configuration (exactly_once).
func (c *Config) TxnConfig() producers.TxnConfig {
	d := c.Delivery
	d.TransactionalID = c.TransactionalID()
	return producers.TxnConfig{Config: c.ProducerConfig(), Delivery: d, GroupID: c.Group}
}

// ProducerBatchSizeFor is producer.batch_size, or when it is unset (0)
// twice a partition's share of a full batch (batch.max_rows over the
// output topic's partitions), at least 64 and at most batch.max_rows.
// kafka-go allocates that many message slots (about 150 bytes each) for
// every partition batch it opens, however few messages the batch gets, so
// a fixed 1024 cost every publish 8 × 150 KiB over 8 partitions, most of
// the scorer's garbage at low rates; a share fits a partition's part of a
// batch in one produce request all the same. ProducerConfig uses
// topics.partitions; run, once the brokers answer, the output topic's own
// count.
func (c *Config) ProducerBatchSizeFor(partitions int) int {
	if c.Producer.BatchSize > 0 {
		return c.Producer.BatchSize
	}
	rows, parts := max(c.Batch.MaxRows, 1), max(partitions, 1)
	share := (rows + parts - 1) / parts
	return min(rows, max(64, 2*share))
}

func (c *Config) ProducerConfig() producers.Config {
	return producers.Config{
		Brokers: c.Brokers, Topic: c.Topics.Output, DLQTopic: c.Topics.DLQ,
		BatchTimeout: c.Producer.BatchTimeout, BatchSize: c.ProducerBatchSizeFor(c.Topics.Partitions), BatchBytes: c.Producer.BatchBytes,
		Compression: c.Producer.Compression, WriteTimeout: c.Producer.WriteTimeout,
		MaxMessageBytes: c.Producer.MaxMessageBytes, Requests: producers.Requests(c.Producer.Requests),
	}
}
