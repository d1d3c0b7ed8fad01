package main

import (
	"context"
	"fmt"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

// scorer adapts a model to the engine: it returns the outputs the schema
// binds, renamed to their scored-event names.
type scorer struct {
	m    *model.Model
	as   []string
	bits []int
}

// openScorer opens the model, checks it against the schema binding, and
// returns the engine's scorer. The caller closes the model.
func openScorer(cfg ModelConfig, spec *schemas.Spec) (*scorer, *model.Model, error) {
	outs := make([]string, len(spec.Model.Outputs))
	for i, o := range spec.Model.Outputs {
		outs[i] = o.Name
	}
	m, err := model.Open(model.Config{
		Path: cfg.Path, Name: cfg.Name, Version: cfg.Version, Outputs: outs,
		Sessions: cfg.Sessions, IntraOpThreads: cfg.IntraOpThreads, InterOpThreads: cfg.InterOpThreads,
		Spinning: cfg.Spinning, GraphOptimization: cfg.GraphOptimization,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("opening model: %w", err)
	}
	if err := m.Check(spec.Model.Input, len(spec.Features), outs); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("model %s does not fit schema %s: %w", cfg.Path, spec, err)
	}
	s := &scorer{m: m}
	types := map[string]string{}
	for _, o := range m.Outputs() {
		types[o.Name] = o.ElementType
	}
	for _, o := range spec.Model.Outputs {
		s.as = append(s.as, o.As)
		bits := 64
		if types[o.Name] == "float32" || types[o.Name] == "float16" {
			bits = 32
		}
		s.bits = append(s.bits, bits)
	}
	return s, m, nil
}

func (s *scorer) Name() string    { return s.m.Name() }
func (s *scorer) Version() string { return s.m.Version() }

func (s *scorer) Score(ctx context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	outs, err := s.m.Score(ctx, in.Features, in.Rows, in.Cols)
	if err != nil {
		return pipeline.ScoreResult{}, err
	}
	res := make([]schemas.Scores, len(outs))
	for i, o := range outs {
		res[i] = schemas.Scores{Name: s.as[i], Width: o.Width, Values: o.Values, Bits: s.bits[i]}
	}
	return pipeline.ScoreResult{Scores: res, Model: s.m.Name(), Version: s.m.Version()}, nil
}
