package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// setupScoring opens the configured model and returns the engine's scorer,
// the HTTP routes it serves (nil for none), and a function that closes what
// it opened.
func setupScoring(ctx context.Context, cfg *Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.Scorer, func(*http.ServeMux), func(), error) {
	sc, m, err := openScorer(cfg.Model, spec)
	if err != nil {
		return nil, nil, nil, err
	}
	return sc, nil, func() { m.Close() }, nil
}
