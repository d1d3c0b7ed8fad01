package scoring

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
)

const (
	plainSchema    = "../../testdata/linear.schema.yaml"
	withSetsSchema = "../../testdata/features/linear_fs.schema.yaml"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestOpenFeatures(t *testing.T) {
	plain, err := Build(t.Context(), &config.Config{Schema: plainSchema}, Parts{}, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	withSets, err := Build(t.Context(), &config.Config{Schema: withSetsSchema}, Parts{}, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer withSets.Close()
	cfg := config.Default()
	store, closeStore, err := OpenFeatures(t.Context(), &cfg, plain.Spec, discard(), nil)
	if err != nil || store != nil {
		t.Fatalf("schema without feature sets: store %v, err %v; want none", store, err)
	}
	closeStore()

	_, _, err = OpenFeatures(t.Context(), &cfg, withSets.Spec, discard(), nil)
	if err == nil || !strings.Contains(err.Error(), "redis.addrs") || !strings.Contains(err.Error(), "STREAMSCORE_REDIS") || !strings.Contains(err.Error(), "user_stats") {
		t.Fatalf("feature sets without Redis: %v; want an error naming redis.addrs, STREAMSCORE_REDIS and the set", err)
	}

	// Redis not answering at start-up is left to the policy: run starts.
	cfg.Redis.Addrs = []string{"127.0.0.1:1"}
	store, closeStore, err = OpenFeatures(t.Context(), &cfg, withSets.Spec, discard(), prometheus.NewRegistry())
	if err != nil || store == nil {
		t.Fatalf("unreachable Redis: store %v, err %v; want a store", store, err)
	}
	closeStore()
}

func TestBuildParts(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		parts   Parts
		drift   bool
		redis   []string
		want    string // an error naming this, or "" for success
		feature bool   // the path has a feature store
	}{
		{name: "schema only", schema: plainSchema},
		{name: "missing schema", schema: "no-such.schema.yaml", want: "no-such.schema.yaml"},
		{name: "features without sets", schema: plainSchema, parts: Parts{Features: true}},
		{name: "features not asked for", schema: withSetsSchema},
		{name: "feature sets without Redis", schema: withSetsSchema, parts: Parts{Features: true}, want: "redis.addrs"},
		{name: "feature sets", schema: withSetsSchema, parts: Parts{Features: true}, redis: []string{"127.0.0.1:1"}, feature: true},
		{name: "drift off", schema: plainSchema, parts: Parts{Drift: true}},
		{name: "drift without Redis", schema: plainSchema, parts: Parts{Drift: true}, drift: true, want: "drift.enabled"},
		{name: "tracing off", schema: plainSchema, parts: Parts{Tracing: true, Version: "test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Schema, cfg.Redis.Addrs, cfg.Drift.Enabled = tc.schema, tc.redis, tc.drift
			p, err := Build(t.Context(), &cfg, tc.parts, discard(), prometheus.NewRegistry())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Build = %v, want an error naming %s", err, tc.want)
				}
				if p != nil {
					t.Fatal("Build returned a path with its error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Spec == nil {
				t.Fatal("no spec")
			}
			if got := p.Features != nil; got != tc.feature {
				t.Fatalf("feature store: %v, want %v", got, tc.feature)
			}
			if p.Router != nil || p.Routes != nil || p.Tracer != nil || len(p.Observers) > 0 {
				t.Fatalf("parts not asked for were built: %+v", p)
			}
		})
	}
}

func TestEngineConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Schema = plainSchema
	cfg.Features.Policy = "fail_closed"
	cfg.Batch.MaxRows, cfg.Pipeline.InFlight, cfg.Pipeline.DrainTimeout = 77, 3, 9*time.Second
	p, err := Build(t.Context(), &cfg, Parts{}, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ec := p.EngineConfig(&cfg)
	if ec.Spec != p.Spec || ec.Policy.MaxRows != 77 || ec.InFlight != 3 || ec.DrainTimeout != 9*time.Second || string(ec.FeaturePolicy) != "fail_closed" {
		t.Fatalf("EngineConfig = %+v; want the path's spec and cfg's batch and pipeline settings", ec)
	}
	p.Close() // a second Close does nothing
}
