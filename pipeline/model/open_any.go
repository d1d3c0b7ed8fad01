package model

import (
	"context"
	"slices"

	"github.com/streamscore/streamscore/schemas"
)

// OpenScorerOwnOutputs is OpenScorer for comparing models: a model that
// lacks one of the outputs spec binds (a challenger exported differently)
// is bound to all of its own numeric outputs instead, under their graph
// names, so champion and challenger need not share output names. It fails
// as OpenScorer does when the model has every bound output, or no numeric
// output of rank 1 or 2. The caller closes the Router.
func OpenScorerOwnOutputs(ctx context.Context, cfg Config, warmupRows int, spec *schemas.Spec) (*Router, error) {
	sc, err := OpenScorer(ctx, cfg, warmupRows, spec)
	if err == nil {
		return sc, nil
	}
	peek, perr := Open(Config{Path: cfg.Path})
	if perr != nil {
		return nil, err
	}
	outs := peek.Outputs()
	peek.Close()
	have := map[string]bool{}
	for _, o := range outs {
		have[o.Name] = true
	}
	lacks := false
	for _, o := range spec.Model.Outputs {
		lacks = lacks || !have[o.Name]
	}
	if !lacks {
		return nil, err
	}
	cp := *spec
	cp.Model.Outputs = nil
	for _, o := range outs {
		if slices.Contains(numericOutputs, o.ElementType) && (len(o.Shape) == 1 || len(o.Shape) == 2) {
			cp.Model.Outputs = append(cp.Model.Outputs, schemas.Output{Name: o.Name, As: o.Name})
		}
	}
	if len(cp.Model.Outputs) == 0 {
		return nil, err
	}
	return OpenScorer(ctx, cfg, warmupRows, &cp)
}

// numericOutputs are the output element types a model may be compared on.
var numericOutputs = []string{"float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"}
