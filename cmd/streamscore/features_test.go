package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/features"
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
