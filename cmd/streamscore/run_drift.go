package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// DriftConfig turns on drift monitoring for `run`.
type DriftConfig struct {
	Enabled bool `yaml:"enabled"`
}

// setupDrift returns the drift observer for run, and a function that stops
// it (flushing what it holds), or nil when drift is off.
func setupDrift(ctx context.Context, cfg *Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.Observer, func(), error) {
	return nil, func() {}, nil
}
