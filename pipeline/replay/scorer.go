package replay

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// models scores each batch with every model in turn and returns all their
// outputs, model by model, each named "<model>.<output>". It is one Scorer
// to the engine, so every batch goes through the same decode and enrich
// path once and each model sees exactly the same tensor.
type models struct {
	list []Model

	mu     sync.Mutex
	counts []int // outputs per model, known after the first batch
}

func newModels(list []Model) *models { return &models{list: list} }

// Name returns the model names joined with "+".
func (m *models) Name() string {
	names := make([]string, len(m.list))
	for i, x := range m.list {
		names[i] = x.Name
	}
	return strings.Join(names, "+")
}

// Version returns the model versions joined with "+".
func (m *models) Version() string {
	vs := make([]string, len(m.list))
	for i, x := range m.list {
		vs[i] = x.Scorer.Version()
	}
	return strings.Join(vs, "+")
}

// Score runs every model on the batch. A model that fails fails the batch;
// the engine then scores its rows one by one, so a row any model rejects
// becomes a dead letter.
func (m *models) Score(ctx context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	var out []schemas.Scores
	counts := make([]int, len(m.list))
	for i, x := range m.list {
		res, err := x.Scorer.Score(ctx, in)
		if err != nil {
			return pipeline.ScoreResult{}, fmt.Errorf("model %s: %w", x.Name, err)
		}
		if res.Versions != nil {
			return pipeline.ScoreResult{}, fmt.Errorf("model %s: it splits batches between versions (a canary); replay one version at a time", x.Name)
		}
		for _, s := range res.Scores {
			if s.Width <= 0 || len(s.Values) != in.Rows*s.Width {
				return pipeline.ScoreResult{}, fmt.Errorf("model %s: output %s has %d values for %d rows of width %d", x.Name, s.Name, len(s.Values), in.Rows, s.Width)
			}
			s.Name = x.Name + "." + s.Name
			out = append(out, s)
		}
		counts[i] = len(res.Scores)
	}
	m.mu.Lock()
	if m.counts == nil {
		m.counts = counts
	}
	m.mu.Unlock()
	return pipeline.ScoreResult{Scores: out, Model: m.Name(), Version: m.Version()}, nil
}

// layoutOf splits a scored batch's outputs by model.
func (m *models) layoutOf(scores []schemas.Scores) (*layout, error) {
	m.mu.Lock()
	counts := m.counts
	m.mu.Unlock()
	if counts == nil {
		return nil, fmt.Errorf("scoring: no batch has been scored yet")
	}
	l := &layout{}
	k := 0
	for i, x := range m.list {
		ml := modelLayout{name: x.Name, version: x.Scorer.Version()}
		for range counts[i] {
			if k >= len(scores) {
				return nil, fmt.Errorf("scoring: model %s returned fewer outputs than before", x.Name)
			}
			s := scores[k]
			ml.outputs = append(ml.outputs, outputLayout{
				name: strings.TrimPrefix(s.Name, x.Name+"."), width: s.Width, bits: s.Bits, index: k,
				str: s.Strings != nil, keys: slices.Clone(s.Keys),
			})
			k++
		}
		l.models = append(l.models, ml)
	}
	if k != len(scores) {
		return nil, fmt.Errorf("scoring: the models returned %d outputs, %d expected", len(scores), k)
	}
	return l, nil
}

// layout is the shape of a replay's scored rows: the models and their
// outputs, in order, as the first scored batch showed them.
type layout struct {
	label  bool
	models []modelLayout
}

type modelLayout struct {
	name, version string
	outputs       []outputLayout
}

type outputLayout struct {
	name  string
	width int
	bits  int
	// index is the output's place in ScoredBatch.Scores.
	index int
	// str marks a string output (class labels), written as strings.
	str bool
	// keys are a ZipMap output's classes, naming its width values: a row
	// is written as {"<class>": p, ...}.
	keys []string
}

// columnName is the flat name of an output column: "model.output", and
// "model.output[j]" for column j of a multi-column output.
func columnName(model, output string, width, j int) string {
	if width == 1 {
		return model + "." + output
	}
	return fmt.Sprintf("%s.%s[%d]", model, output, j)
}

// matches reports whether scores have the shape the layout recorded.
func (l *layout) matches(scores []schemas.Scores) bool {
	n := 0
	for _, m := range l.models {
		for _, o := range m.outputs {
			if o.index >= len(scores) || scores[o.index].Width != o.width ||
				(scores[o.index].Strings != nil) != o.str || !slices.Equal(scores[o.index].Keys, o.keys) {
				return false
			}
			n++
		}
	}
	return n == len(scores)
}

// selected is the output value metrics use for one model.
type selected struct {
	output, column int // index into the flat outputs; column within it
	name           string
}

// selectScores resolves sel against each model's outputs.
func (l *layout) selectScores(sel Selector) ([]selected, error) {
	out := make([]selected, len(l.models))
	for i, m := range l.models {
		pick := -1
		col := sel.Column
		if sel.Output == "" {
			col = -1
		}
		if sel.Output != "" {
			for j, o := range m.outputs {
				if o.name == sel.Output {
					pick = j
				}
			}
			if pick < 0 {
				names := make([]string, len(m.outputs))
				for j, o := range m.outputs {
					names[j] = o.name
				}
				return nil, fmt.Errorf("score: model %s has no output %q; its outputs are %s", m.name, sel.Output, strings.Join(names, ", "))
			}
		} else {
			switch {
			case len(m.outputs) == 1:
				pick = 0
			default:
				for j, o := range m.outputs {
					if o.width == 2 && pick < 0 {
						pick = j
					}
				}
				for j, o := range m.outputs {
					if o.width == 1 && pick < 0 {
						pick = j
					}
				}
			}
			if pick < 0 {
				return nil, fmt.Errorf("score: model %s has no output of width 1 or 2 to take as its score; name one with --score OUTPUT[COLUMN]", m.name)
			}
		}
		o := m.outputs[pick]
		if col < 0 {
			switch o.width {
			case 1:
				col = 0
			case 2:
				col = 1
			default:
				return nil, fmt.Errorf("score: output %s of model %s has %d columns; name the one to score with --score %s[COLUMN] (multi-class metrics are not computed)", o.name, m.name, o.width, o.name)
			}
		}
		if col >= o.width {
			return nil, fmt.Errorf("score: output %s of model %s has %d columns; column %d does not exist", o.name, m.name, o.width, col)
		}
		name := o.name
		if o.width > 1 {
			name = fmt.Sprintf("%s[%d]", o.name, col)
		}
		out[i] = selected{output: o.index, column: col, name: name}
	}
	return out, nil
}
