package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/schemas"
)

// setupFeatures returns the feature store for run (nil when the schema has
// no feature sets) and a function that closes it. Redis being unreachable
// at start-up is not an error (the policy covers it, and fail_closed waits
// for it); refused credentials are.
func setupFeatures(ctx context.Context, cfg *config.Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.FeatureStore, func(), error) {
	if len(spec.FeatureSets) == 0 {
		return nil, func() {}, nil
	}
	if err := cfg.Features.Validate(); err != nil {
		return nil, nil, config.InSection("features", err)
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, fmt.Errorf("redis.addrs: the schema %s declares feature_sets (%s) but no Redis is configured; set redis.addrs in the config or STREAMSCORE_REDIS", spec, features.SetNames(spec))
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, nil, err
	}
	store, err := features.New(client, spec, cfg.Features, log, reg)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	policy := cfg.Features.WithDefaults().Policy
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		if isAuthError(err) {
			client.Close()
			return nil, nil, fmt.Errorf("redis: connecting to %s: %w (check redis.username, redis.password or redis.password_file)", strings.Join(cfg.Redis.Addrs, ","), err)
		}
		log.Warn("Redis does not answer at start-up; the feature policy applies until it does", "redis", cfg.Redis.Addrs, "policy", policy, "err", err)
	}
	log.Info("online features", "sets", features.SetNames(spec), "redis", cfg.Redis.Addrs, "policy", policy)
	return store, func() { client.Close() }, nil
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
