package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

// challengerPrefix starts the scored-event names of the challenger's
// outputs ("challenger.score").
const challengerPrefix = "challenger."

// wantBinding returns the binding spec asks of a model.
func wantBinding(spec *schemas.Spec) model.Binding {
	b := model.Binding{Input: spec.Model.Input, Features: spec.FeatureNames()}
	for _, o := range spec.Model.Outputs {
		b.Outputs = append(b.Outputs, model.BoundOutput{Name: o.Name, As: o.As})
	}
	return b
}

// openModel opens the model at path for spec: a registry version through
// model.LoadDir (sha256, binding, smoke batch, golden file), a plain file
// through model.Open and Check. cfg supplies the ONNX Runtime settings and,
// for a plain file, the name and version.
func openModel(ctx context.Context, cfg ModelConfig, path string, spec *schemas.Spec) (*model.Model, model.Location, error) {
	loc, err := model.Locate(path)
	if err != nil {
		return nil, loc, fmt.Errorf("opening model: %w", err)
	}
	want := wantBinding(spec)
	sc := cfg.sessionConfig()
	if spec.Typed() {
		if loc.InRegistry() {
			return nil, loc, fmt.Errorf("opening model: schema %s binds typed inputs, which work with a plain model file for now: point model.path at the .onnx file", spec)
		}
		sc.Path = path
		sc.Outputs = want.Names()
		m, err := model.Open(sc)
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
		m, _, err := model.LoadDir(ctx, loc.Path, model.LoadOptions{Config: sc, Want: &want, WarmupRows: cfg.WarmupRows})
		if err != nil {
			return nil, loc, fmt.Errorf("opening model: %w", err)
		}
		return m, loc, nil
	}
	sc.Path = path
	sc.Outputs = want.Names()
	m, err := model.Open(sc)
	if err != nil {
		return nil, loc, fmt.Errorf("opening model: %w", err)
	}
	if err := m.Check(want.Input, spec.Columns(), want.Names()); err != nil {
		m.Close()
		return nil, loc, fmt.Errorf("model %s does not fit schema %s: %w", path, spec, err)
	}
	return m, loc, nil
}

// scorer adapts one model to the engine: it returns the outputs the schema
// binds, renamed to their scored-event names.
type scorer struct {
	m  *model.Model
	as []string
}

// openScorer opens the model at cfg.Path (a plain file or a registry
// version), checks it against the schema binding, and returns the engine's
// scorer. The caller closes the model.
func openScorer(cfg ModelConfig, spec *schemas.Spec) (*scorer, *model.Model, error) {
	m, _, err := openModel(context.Background(), cfg, cfg.Path, spec)
	if err != nil {
		return nil, nil, err
	}
	return &scorer{m: m, as: scoreNames(spec)}, m, nil
}

func scoreNames(spec *schemas.Spec) []string {
	as := make([]string, len(spec.Model.Outputs))
	for i, o := range spec.Model.Outputs {
		as[i] = o.As
	}
	return as
}

func (s *scorer) Name() string    { return s.m.Name() }
func (s *scorer) Version() string { return s.m.Version() }

func (s *scorer) Score(ctx context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	outs, err := s.m.ScoreBatch(ctx, model.Batch{Features: in.Features, Rows: in.Rows, Cols: in.Cols, Keys: in.Keys, Columns: in.Columns})
	if err != nil {
		return pipeline.ScoreResult{}, err
	}
	return pipeline.ScoreResult{Scores: toScores(nil, outs, s.as, ""), Model: s.m.Name(), Version: s.m.Version()}, nil
}

// toScores appends outs to dst as scored-event scores named prefix+as[i].
func toScores(dst []schemas.Scores, outs []model.Output, as []string, prefix string) []schemas.Scores {
	for i, o := range outs {
		bits := 64
		if o.Type == "float32" || o.Type == "float16" {
			bits = 32
		}
		vals := o.Values
		if o.Strings != nil && vals == nil {
			vals = make([]float64, len(o.Strings))
			for j := range vals {
				vals[j] = math.NaN()
			}
		}
		dst = append(dst, schemas.Scores{Name: prefix + as[i], Width: o.Width, Values: vals, Bits: bits, Strings: o.Strings, Keys: o.Keys})
	}
	return dst
}

// routerScorer adapts a model.Router (champion, canary, challenger, hot
// swaps) to the engine. The challenger's outputs follow the champion's in
// the scores, named "challenger.<as>". As an Observer it publishes the
// challenger's scored events to a shadow topic, when one is configured.
type routerScorer struct {
	r      *model.Router
	as     []string
	shadow *shadowPublisher

	// recent maps a batch's challenger scores to the challenger's version,
	// for the shadow topic; a ring, so results never observed (HTTP
	// scoring, row-by-row retries) do not pile up.
	mu     sync.Mutex
	recent [recentChallenger]challengerTag
	next   int
}

const recentChallenger = 64

type challengerTag struct {
	first         *float64
	name, version string
}

func (s *routerScorer) Name() string    { return s.r.Lineup().Champion.Name() }
func (s *routerScorer) Version() string { return s.r.Lineup().Champion.Version() }

func (s *routerScorer) Score(ctx context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	res, err := s.r.Score(ctx, model.Batch{Features: in.Features, Rows: in.Rows, Cols: in.Cols, Keys: in.Keys, Columns: in.Columns})
	if err != nil {
		return pipeline.ScoreResult{}, err
	}
	scores := toScores(make([]schemas.Scores, 0, 2*len(res.Outputs)), res.Outputs, s.as, "")
	if c := res.Challenger; c != nil {
		scores = toScores(scores, c.Outputs, s.as, challengerPrefix)
		if s.shadow != nil && len(c.Outputs) > 0 && len(c.Outputs[0].Values) > 0 {
			s.mu.Lock()
			s.recent[s.next] = challengerTag{first: &c.Outputs[0].Values[0], name: c.Name, version: c.Version}
			s.next = (s.next + 1) % recentChallenger
			s.mu.Unlock()
		}
	}
	return pipeline.ScoreResult{Scores: scores, Model: res.Name, Version: res.Version, Versions: res.Versions}, nil
}

// ObserveBatch hands the batch's challenger scores to the shadow publisher.
// It does not block.
func (s *routerScorer) ObserveBatch(b *schemas.ScoredBatch) {
	if s.shadow == nil {
		return
	}
	var chal []schemas.Scores
	for _, sc := range b.Scores {
		if name, ok := strings.CutPrefix(sc.Name, challengerPrefix); ok {
			sc.Name = name
			chal = append(chal, sc)
		}
	}
	if len(chal) == 0 || len(chal[0].Values) == 0 {
		return
	}
	var tag challengerTag
	s.mu.Lock()
	for _, t := range s.recent {
		if t.first == &chal[0].Values[0] {
			tag = t
			break
		}
	}
	s.mu.Unlock()
	if tag.first == nil {
		s.shadow.skip()
		return
	}
	s.shadow.publish(b, chal, tag.name, tag.version)
}
