package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// FeaturesConfig configures online feature enrichment.
type FeaturesConfig struct {
	// Policy is fail_open (the default) or fail_closed.
	Policy string `yaml:"policy"`
}

// setupFeatures returns the feature store for run (nil when the schema has
// no feature sets) and a function that closes it.
func setupFeatures(ctx context.Context, cfg *Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.FeatureStore, func(), error) {
	return nil, func() {}, nil
}
