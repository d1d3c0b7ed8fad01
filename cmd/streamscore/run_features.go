package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/schemas"
)

// FeaturesConfig configures online feature enrichment: the schema's
// feature_sets read from Redis (redis.addrs) before each batch is scored.
type FeaturesConfig struct {
	// Policy is what scoring does when Redis cannot be read: fail_open (the
	// default) scores with the features' defaults and marks the scored
	// events "features_missing"; fail_closed pauses scoring, consumption and
	// commits, retrying with backoff until Redis answers. Neither loses an
	// event.
	Policy string `yaml:"policy"`
	// CacheSize bounds each feature set's in-process cache, in entities.
	// Zero means 100000; -1 disables the cache.
	CacheSize int `yaml:"cache_size"`
	// CacheTTL is how long an entity read from Redis is served from the
	// cache (never past the set's max_age). Zero means 10s.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// NegativeTTL is how long an entity found missing is remembered as
	// missing. Zero means 1s; -1s disables negative caching.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// Timeout bounds one batch's Redis round trip. Zero means 1s.
	Timeout time.Duration `yaml:"timeout"`
	// RetryInterval is how long after a failed round trip batches that need
	// Redis fail at once without trying it (the policy then applies), so an
	// outage does not cost every batch a timeout; cached entities are still
	// served. Zero means 1s; -1s means always try.
	RetryInterval time.Duration `yaml:"retry_interval"`
}

// Validate reports the first problem, naming the key.
func (c *FeaturesConfig) Validate() error {
	switch pipeline.FeaturePolicy(c.Policy) {
	case "", pipeline.FailOpen, pipeline.FailClosed:
	default:
		return fmt.Errorf("features.policy: %q is not fail_open or fail_closed", c.Policy)
	}
	if c.CacheSize < -1 {
		return errors.New("features.cache_size: must be positive, 0 for the default, or -1 to disable the cache")
	}
	if c.CacheTTL < 0 {
		return errors.New("features.cache_ttl: must not be negative")
	}
	if c.Timeout < 0 {
		return errors.New("features.timeout: must not be negative")
	}
	return nil
}

func (c *FeaturesConfig) storeConfig() features.Config {
	return features.Config{CacheSize: c.CacheSize, CacheTTL: c.CacheTTL, NegativeTTL: c.NegativeTTL, Timeout: c.Timeout, RetryInterval: c.RetryInterval}
}

// setupFeatures returns the feature store for run (nil when the schema has
// no feature sets) and a function that closes it. Redis being unreachable
// at start-up is not an error (the policy covers it, and fail_closed waits
// for it); refused credentials are.
func setupFeatures(ctx context.Context, cfg *Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.FeatureStore, func(), error) {
	if len(spec.FeatureSets) == 0 {
		return nil, func() {}, nil
	}
	if err := cfg.Features.Validate(); err != nil {
		return nil, nil, err
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, fmt.Errorf("redis.addrs: the schema %s declares feature_sets (%s) but no Redis is configured; set redis.addrs in the config or STREAMSCORE_REDIS", spec, setNames(spec))
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, nil, err
	}
	store, err := features.New(client, spec, cfg.Features.storeConfig(), log, reg)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	policy := cfg.Features.Policy
	if policy == "" {
		policy = string(pipeline.FailOpen)
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		if isAuthError(err) {
			client.Close()
			return nil, nil, fmt.Errorf("redis: connecting to %s: %w (check redis.username, redis.password or redis.password_file)", strings.Join(cfg.Redis.Addrs, ","), err)
		}
		log.Warn("Redis does not answer at start-up; the feature policy applies until it does", "redis", cfg.Redis.Addrs, "policy", policy, "err", err)
	}
	log.Info("online features", "sets", setNames(spec), "redis", cfg.Redis.Addrs, "policy", policy)
	return store, func() { client.Close() }, nil
}

func setNames(spec *schemas.Spec) string {
	names := make([]string, len(spec.FeatureSets))
	for i := range spec.FeatureSets {
		names[i] = spec.FeatureSets[i].Name
	}
	return strings.Join(names, ", ")
}

// isAuthError reports whether Redis refused the credentials.
func isAuthError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"WRONGPASS", "NOAUTH", "NOPERM", "invalid password", "invalid username-password"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
