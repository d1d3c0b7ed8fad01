package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/schemas"
)

func TestFeaturesConfigFromYAML(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("features: {policy: fail_closed, cache_size: -1, cache_ttl: 5s, negative_ttl: -1s, timeout: 300ms, retry_interval: 2s}\n"), 0o644)
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := features.Config{Policy: "fail_closed", CacheSize: -1, CacheTTL: 5 * time.Second, NegativeTTL: -time.Second, Timeout: 300 * time.Millisecond, RetryInterval: 2 * time.Second}
	if cfg.Features != want {
		t.Fatalf("features = %+v, want %+v", cfg.Features, want)
	}
	if err := cfg.Features.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFeaturesConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		cfg  features.Config
		want string
	}{
		{"policy", features.Config{Policy: "fail_sometimes"}, "features.policy"},
		{"cache size", features.Config{CacheSize: -2}, "features.cache_size"},
		{"cache ttl", features.Config{CacheTTL: -time.Second}, "features.cache_ttl"},
		{"timeout", features.Config{Timeout: -time.Second}, "features.timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Schema, cfg.Model.Path = "s.yaml", "m.onnx"
			cfg.Features = tc.cfg
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestSetupFeatures(t *testing.T) {
	plain, err := schemas.Load("../../testdata/linear.schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withSets, err := schemas.Load("../../testdata/features/linear_fs.schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	store, closeStore, err := setupFeatures(t.Context(), &cfg, plain, discardLogger(), nil)
	if err != nil || store != nil {
		t.Fatalf("schema without feature sets: store %v, err %v; want none", store, err)
	}
	closeStore()

	_, _, err = setupFeatures(t.Context(), &cfg, withSets, discardLogger(), nil)
	if err == nil || !strings.Contains(err.Error(), "redis.addrs") || !strings.Contains(err.Error(), "STREAMSCORE_REDIS") || !strings.Contains(err.Error(), "user_stats") {
		t.Fatalf("feature sets without Redis: %v; want an error naming redis.addrs, STREAMSCORE_REDIS and the set", err)
	}

	// Redis not answering at start-up is left to the policy: run starts.
	cfg.Redis.Addrs = []string{"127.0.0.1:1"}
	store, closeStore, err = setupFeatures(t.Context(), &cfg, withSets, discardLogger(), nil)
	if err != nil || store == nil {
		t.Fatalf("unreachable Redis: store %v, err %v; want a store", store, err)
	}
	closeStore()
}
