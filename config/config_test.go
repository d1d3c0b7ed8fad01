package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigIsValid(t *testing.T) {
	t.Setenv("STREAMSCORE_BROKERS", "")
	t.Setenv("STREAMSCORE_REDIS", "")
	os.Unsetenv("STREAMSCORE_BROKERS")
	cfg, err := Load("../streamscore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("streamscore.yaml does not validate: %v", err)
	}
	def := Default()
	if cfg.Batch != def.Batch || cfg.Consumer != def.Consumer || cfg.Producer != def.Producer || cfg.Brokers[0] != def.Brokers[0] {
		t.Fatalf("streamscore.yaml documents values other than the defaults:\n%+v\n%+v", cfg, def)
	}
	if !strings.HasSuffix(cfg.Schema, "testdata/mlp.schema.yaml") || !filepath.IsAbs(cfg.Model.Path) && !strings.HasPrefix(cfg.Model.Path, "../") {
		t.Fatalf("relative paths not resolved against the file: schema %s model %s", cfg.Schema, cfg.Model.Path)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	// The environment's overrides would hide the file's values.
	t.Setenv("STREAMSCORE_BROKERS", "")
	t.Setenv("STREAMSCORE_REDIS", "")
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "bogus: 1\n", "bogus"},
		{"bad duration", "batch: {max_wait: soon}\n", "max_wait"},
		{"zero rows", "batch: {max_rows: 0}\n", "batch.max_rows"},
		{"bad batch mode", "batch: {mode: eager}\n", "batch.mode"},
		{"negative target latency", "batch: {target_latency: -1ms}\n", "batch.target_latency"},
		{"no port", "brokers: [localhost]\n", "brokers"},
		{"same topics", "topics: {input: a, output: a}\n", "topics"},
		{"bad start offset", "consumer: {start_offset: middle}\n", "consumer.start_offset"},
		{"bad compression", "producer: {compression: brotli}\n", "producer.compression"},
		{"bad log level", "log: {level: loud}\n", "log.level"},
		{"bad sasl", "kafka: {sasl: {mechanism: GSSAPI}}\n", "kafka.sasl.mechanism"},
		{"missing env", "group: ${NO_SUCH_VAR_FOR_TEST}\n", "NO_SUCH_VAR_FOR_TEST"},
		{"missing model", "schema: s.yaml\n", "model.path"},
		{"bad console refresh", "console: {refresh: 1ms}\n", "console.refresh:"},
		{"bad tracing protocol", "tracing: {protocol: udp}\n", "tracing.protocol:"},
		{"bad delivery mode", "delivery: {mode: exactly_twice}\n", "delivery.mode"},
		{"negative batches per transaction", "delivery: {mode: exactly_once, batches_per_transaction: -1}\n", "delivery.batches_per_transaction"},
		{"interval above transaction timeout", "delivery: {mode: exactly_once, transaction_interval: 2m}\n", "delivery.transaction_interval"},
		{"transactions that never fill", "delivery: {mode: exactly_once, batches_per_transaction: 8}\npipeline: {publishes: 4}\n", "pipeline.publishes"},
		{"bad isolation", "consumer: {isolation: dirty}\n", "consumer.isolation"},
		{"bad fetch mode", "consumer: {fetch: per_topic}\n", "consumer.fetch"},
		{"bad producer requests", "producer: {requests: per_topic}\n", "producer.requests"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(p, []byte("schema: s.yaml\nmodel: {path: m.onnx}\n"+tc.yaml), 0o644)
			if tc.name == "missing model" {
				os.WriteFile(p, []byte(tc.yaml), 0o644)
			}
			cfg, err := Load(p)
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("SS_TEST_GROUP", "g1")
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("group: ${SS_TEST_GROUP}\ntopics: {input: ${SS_TEST_IN:-in1}}\npipeline: {drain_timeout: 5s}\nredis: {password: a$b}\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Group != "g1" || cfg.Topics.Input != "in1" || cfg.Pipeline.DrainTimeout != 5*time.Second || cfg.Redis.Password != "a$b" {
		t.Fatalf("got group %q input %q drain %v password %q", cfg.Group, cfg.Topics.Input, cfg.Pipeline.DrainTimeout, cfg.Redis.Password)
	}
}

func TestRedisPasswordIsRedacted(t *testing.T) {
	c := RedisConfig{Addrs: []string{"127.0.0.1:6379"}, Password: "hunter2-secret"}
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("redis", "cfg", c)
	b, _ := json.Marshal(c)
	for _, out := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c), buf.String(), string(b)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("password leaked: %s", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Fatalf("no redaction marker in %s", out)
		}
	}
}

// TestConfigPrintsAsJSON checks the whole configuration, with every
// package's section, marshals to JSON (as it is logged and printed), the
// drift section's clock included, without the secrets.
func TestConfigPrintsAsJSON(t *testing.T) {
	cfg := Default()
	cfg.Redis.Password = "hunter2-secret"
	cfg.Drift.Now = func() time.Time { return time.Time{} }
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("marshalling the configuration: %v", err)
	}
	for _, want := range []string{`"Drift":`, `"Features":`, `"Model":`, "redacted"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	if strings.Contains(string(b), "hunter2") {
		t.Fatalf("password leaked: %s", b)
	}
}

func TestDeliveryDefaults(t *testing.T) {
	t.Setenv("STREAMSCORE_BROKERS", "")
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("schema: s.yaml\nmodel: {path: m.onnx}\ngroup: g\ndelivery: {mode: exactly_once}\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	tc := cfg.TxnConfig()
	if !strings.HasPrefix(tc.Delivery.TransactionalID, "g-") || !strings.HasSuffix(tc.Delivery.TransactionalID, host) {
		t.Fatalf("transactional id %q, want g-<hostname>", tc.Delivery.TransactionalID)
	}
	cc := cfg.ConsumerConfig()
	if cc.Isolation != "read_committed" || !cc.Transactional {
		t.Fatalf("exactly_once consumer: isolation %q, transactional %v; want read_committed, true", cc.Isolation, cc.Transactional)
	}
	def := Default()
	if def.Delivery.Exactly() || def.ConsumerConfig().Isolation != "" || def.ConsumerConfig().Transactional {
		t.Fatal("the default is not at_least_once with kafka-go's reader")
	}
}

// TestProducerBatchSize: unset, producer.batch_size is twice a partition's
// share of batch.max_rows (64 at least, max_rows at most); set, it is kept.
func TestProducerBatchSize(t *testing.T) {
	for _, tc := range []struct{ set, rows, parts, want int }{
		{0, 1024, 8, 256},
		{0, 1024, 1, 1024},
		{0, 1024, 2, 1024},
		{0, 1024, 64, 64},
		{0, 16, 8, 16},
		{0, 4096, 16, 512},
		{2000, 1024, 8, 2000},
	} {
		c := Default()
		c.Producer.BatchSize, c.Batch.MaxRows, c.Topics.Partitions = tc.set, tc.rows, tc.parts
		if got := c.ProducerConfig().BatchSize; got != tc.want {
			t.Errorf("batch_size %d, max_rows %d, partitions %d: got %d, want %d", tc.set, tc.rows, tc.parts, got, tc.want)
		}
		// The output topic's own count, when run has read it.
		c.Topics.Partitions = 3
		if got := c.ProducerBatchSizeFor(tc.parts); got != tc.want {
			t.Errorf("batch_size %d, max_rows %d, for %d partitions: got %d, want %d", tc.set, tc.rows, tc.parts, got, tc.want)
		}
	}
}
