package model

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/schemas"
)

// BindingFor returns the binding spec asks of a model: its input, the
// feature columns in order, and the outputs with their scored-event names.
//
// For a Typed spec, Features lists every feature (event features, strings
// and arrays included, then feature-set features), Inputs is
// spec.Model.Inputs, and LoadDir binds the model's inputs to the spec.
func BindingFor(spec *schemas.Spec) Binding {
	b := Binding{Input: spec.Model.Input, Features: spec.FeatureNames(), spec: spec}
	if spec.Typed() {
		b.Features = b.Features[:0]
		for _, f := range spec.Features {
			b.Features = append(b.Features, f.Name)
		}
		for _, fs := range spec.FeatureSets {
			for _, f := range fs.Features {
				b.Features = append(b.Features, f.Name)
			}
		}
		b.Inputs, b.Typed = spec.Model.Inputs, true
	}
	for _, o := range spec.Model.Outputs {
		b.Outputs = append(b.Outputs, BoundOutput{Name: o.Name, As: o.As})
	}
	return b
}

// ScoredNames returns the scored-event names of spec's bound outputs, in
// binding order (RouterOptions.Names).
func ScoredNames(spec *schemas.Spec) []string {
	as := make([]string, len(spec.Model.Outputs))
	for i, o := range spec.Model.Outputs {
		as[i] = o.As
	}
	return as
}

// OpenFor opens the model at path for spec: a registry version through
// LoadDir (sha256, binding, smoke batch of warmupRows, golden file), a plain
// file through Open and Check. cfg supplies the session settings and, for a
// plain file, the name and version. It returns where the model was found.
// The caller closes the Model.
func OpenFor(ctx context.Context, cfg Config, warmupRows int, path string, spec *schemas.Spec) (*Model, Location, error) {
	loc, err := Locate(path)
	if err != nil {
		return nil, loc, fmt.Errorf("opening model: %w", err)
	}
	want := BindingFor(spec)
	if spec.Typed() && !loc.InRegistry() {
		cfg.Path = path
		cfg.Outputs = want.Names()
		m, err := Open(cfg)
		if err != nil {
			return nil, loc, fmt.Errorf("opening model: %w", err)
		}
		if err := m.Bind(spec, want.Names()); err != nil {
			m.Close()
			return nil, loc, fmt.Errorf("model %s does not fit schema %s: %w", path, spec, err)
		}
		return m, loc, nil
	}
	if loc.InRegistry() {
		m, _, err := LoadDir(ctx, loc.Path, LoadOptions{Config: cfg, Want: &want, WarmupRows: warmupRows})
		if err != nil {
			return nil, loc, fmt.Errorf("opening model: %w", err)
		}
		return m, loc, nil
	}
	cfg.Path = path
	cfg.Outputs = want.Names()
	m, err := Open(cfg)
	if err != nil {
		return nil, loc, fmt.Errorf("opening model: %w", err)
	}
	if err := m.Check(want.Input, spec.Columns(), want.Names()); err != nil {
		m.Close()
		return nil, loc, fmt.Errorf("model %s does not fit schema %s: %w", path, spec, err)
	}
	return m, loc, nil
}

// OpenLineup opens the champion at cfg.Path and the canary and challenger
// lc names (a version of the champion's registry model, or a path) into a
// Router that names outputs as spec does, and returns where the champion
// was found. log and reg may be nil. The caller closes the Router.
func OpenLineup(ctx context.Context, cfg Config, lc LineupConfig, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (*Router, Location, error) {
	var l Lineup
	fail := func(err error) (*Router, Location, error) {
		for _, m := range l.models() {
			m.Close()
		}
		return nil, Location{}, err
	}
	champ, loc, err := OpenFor(ctx, cfg, lc.WarmupRows, cfg.Path, spec)
	if err != nil {
		return fail(err)
	}
	l.Champion = champ
	other := func(key, version, path string) (*Model, error) {
		if version != "" {
			if !loc.InRegistry() {
				return nil, fmt.Errorf("model.%s.version: the champion is a plain file, so there is no registry to find version %s in: set model.%s.path, or point model.path at a registry", key, version, key)
			}
			path = loc.Registry.Dir(loc.Name, version)
		}
		m, _, err := OpenFor(ctx, cfg, lc.WarmupRows, path, spec)
		if err != nil {
			return nil, fmt.Errorf("model.%s: %w", key, err)
		}
		return m, nil
	}
	if lc.Canary.Version != "" || lc.Canary.Path != "" {
		if l.Canary, err = other("canary", lc.Canary.Version, lc.Canary.Path); err != nil {
			return fail(err)
		}
		l.CanaryFraction = lc.Canary.Fraction
	}
	if lc.Challenger.Version != "" || lc.Challenger.Path != "" {
		if l.Challenger, err = other("challenger", lc.Challenger.Version, lc.Challenger.Path); err != nil {
			return fail(err)
		}
	}
	r, err := NewRouter(ctx, l, RouterOptions{Tolerance: lc.Challenger.Tolerance, Names: ScoredNames(spec)}, log, reg)
	if err != nil {
		return fail(err)
	}
	return r, loc, nil
}

// OpenScorer opens one model at cfg.Path (a plain file or a registry
// version), checked against spec, as a one-model Router: the engine's
// scorer, outputs named as spec names them. The caller closes the Router,
// which closes the model.
func OpenScorer(ctx context.Context, cfg Config, warmupRows int, spec *schemas.Spec) (*Router, error) {
	r, _, err := OpenLineup(ctx, cfg, LineupConfig{WarmupRows: warmupRows}, spec, nil, nil)
	return r, err
}
