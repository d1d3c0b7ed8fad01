package scoring

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/schemas"
)

// OpenFeatures returns the feature store of the scoring path (nil when the schema has
// no feature sets) and a function that closes it. Redis being unreachable
// at start-up is not an error (the policy covers it, and fail_closed waits
// for it); refused credentials are.
func OpenFeatures(ctx context.Context, cfg *config.Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.FeatureStore, func(), error) {
	if len(spec.FeatureSets) == 0 {
		return nil, func() {}, nil
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, fmt.Errorf("redis.addrs: the schema %s declares feature_sets (%s) but no Redis is configured; set redis.addrs in the config or STREAMSCORE_REDIS", spec, features.SetNames(spec))
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, nil, err
	}
	store, err := features.Open(ctx, client, cfg.Redis.Addrs, spec, cfg.Features, log, reg)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return store, func() { client.Close() }, nil
}
