package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// DefaultWarmupRows is the size of the smoke batch a loaded model scores
// before it may serve.
const DefaultWarmupRows = 64

// LoadOptions says how LoadDir opens and checks a registered version.
type LoadOptions struct {
	// Config holds the ONNX Runtime settings (sessions, threads, provider).
	// Path, Name, Version and Outputs are taken from the manifest and Want.
	Config Config
	// Want is the binding the event schema asks for. Nil checks the model
	// against its own manifest only.
	Want *Binding
	// WarmupRows is the size of the smoke batch, run on every session of
	// the pool; 0 means DefaultWarmupRows.
	WarmupRows int
	// Golden, if set, is a golden file to compare with instead of the
	// manifest's; Tolerance then applies (0 means DefaultTolerance).
	Golden    string
	Tolerance float64
}

// Report says what LoadDir checked.
type Report struct {
	Dir      string
	Manifest *Manifest
	// Open is how long creating the sessions took; Warmup how long the
	// smoke batches took.
	Open, Warmup time.Duration
	// Widths are the bound outputs' values per row, from the smoke batch.
	Widths []int
	// GoldenRows is how many golden rows were compared (0: no golden
	// file); GoldenMaxDiff the largest absolute difference seen.
	GoldenRows    int
	GoldenMaxDiff float64
}

// LoadDir loads the registered version in dir and proves it can serve,
// in this order: it reads the manifest, reads the model file and checks its
// sha256 (a mismatch is refused with ErrChecksum before ONNX Runtime sees
// the bytes), opens the checked bytes, checks the manifest's binding against
// Want and the model's declared input and outputs against both, scores a
// smoke batch on every pooled session (warming them up; every output must be
// finite and have one row per input row), and compares the outputs with the
// golden file, if there is one, within its tolerance.
//
// Any failure closes the model and returns an error that says which step
// failed and why; on success the caller owns the model and must Close it.
func LoadDir(ctx context.Context, dir string, opts LoadOptions) (*Model, Report, error) {
	rep := Report{Dir: dir}
	man, data, err := ReadVerified(dir)
	rep.Manifest = man
	if err != nil {
		return nil, rep, fmt.Errorf("loading %s: %w", dir, err)
	}
	want := man.Binding
	if opts.Want != nil {
		if err := man.Binding.Check(*opts.Want); err != nil {
			return nil, rep, fmt.Errorf("loading %s version %s: %w", man.Name, man.Version, err)
		}
		want = *opts.Want
	}
	cfg := opts.Config
	cfg.Path = filepath.Join(dir, man.ModelFile())
	cfg.Name, cfg.Version = man.Name, man.Version
	cfg.Outputs = want.Names()
	cfg.OptimizedModelPath = ""

	start := time.Now()
	m, err := open(cfg, data)
	if err != nil {
		return nil, rep, fmt.Errorf("loading %s version %s: %w", man.Name, man.Version, err)
	}
	rep.Open = time.Since(start)
	m.manifest = man
	fail := func(err error) (*Model, Report, error) {
		m.Close()
		return nil, rep, fmt.Errorf("loading %s version %s: %w", man.Name, man.Version, err)
	}

	rows := opts.WarmupRows
	if rows <= 0 {
		rows = DefaultWarmupRows
	}
	if want.Typed {
		if want.spec == nil {
			return fail(errors.New("the model takes typed inputs, which are bound to a schema's feature columns: pass the event schema (model validate --schema)"))
		}
		// Typed inputs: bind them to the schema's feature columns and
		// smoke-test through decoded synthetic events.
		if err := m.Bind(want.spec, want.Names()); err != nil {
			return fail(err)
		}
		start = time.Now()
		widths, err := m.warmup(ctx, rows, func(ctx context.Context) ([]Output, error) { return m.scoreSmoke(ctx, rows) })
		if err != nil {
			return fail(err)
		}
		rep.Widths, rep.Warmup = widths, time.Since(start)
		if opts.Golden != "" || man.Golden != nil {
			return fail(errors.New("golden file: golden inputs are one float32 matrix, and this model takes typed inputs: register it without a golden file (its smoke batch still runs at every load)"))
		}
		return m, rep, nil
	}

	cols := len(want.Features)
	if cols == 0 {
		cols = len(man.Binding.Features)
	}
	if cols == 0 {
		cols, err = m.declaredColumns(want.Input)
		if err != nil {
			return fail(err)
		}
	}
	if err := m.Check(want.Input, cols, want.Names()); err != nil {
		return fail(err)
	}

	start = time.Now()
	rng := rand.New(rand.NewPCG(1, uint64(cols)))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	widths, err := m.warmup(ctx, rows, func(ctx context.Context) ([]Output, error) { return m.Score(ctx, x, rows, cols) })
	if err != nil {
		return fail(err)
	}
	rep.Widths = widths
	rep.Warmup = time.Since(start)

	golden, tol := opts.Golden, opts.Tolerance
	if golden == "" && man.Golden != nil {
		golden, tol = filepath.Join(dir, man.Golden.File), man.Golden.Tolerance
	}
	if golden != "" {
		g, err := ReadGolden(golden)
		if err != nil {
			return fail(err)
		}
		n, diff, err := g.Compare(ctx, m, tol)
		if err != nil {
			return fail(err)
		}
		rep.GoldenRows, rep.GoldenMaxDiff = n, diff
	}
	return m, rep, nil
}

// declaredColumns returns the fixed width of input name.
func (m *Model) declaredColumns(name string) (int, error) {
	i := slices.IndexFunc(m.inputs, func(t TensorInfo) bool { return t.Name == name })
	if i < 0 {
		return 0, fmt.Errorf("input %q: the model has no such input; its inputs are %s", name, listInfos(m.inputs))
	}
	in := m.inputs[i]
	if len(in.Shape) != 2 || in.Shape[1] < 0 {
		return 0, fmt.Errorf("input %q has shape %s: list the features in the manifest's binding so the width is known", name, formatShape(in.Shape))
	}
	return int(in.Shape[1]), nil
}

// warmup runs score, a smoke batch of rows rows, on every session of the
// pool (so none serves its first call cold), checks each output has one row
// per input row and finite values, and returns the outputs' widths.
func (m *Model) warmup(ctx context.Context, rows int, score func(context.Context) ([]Output, error)) ([]int, error) {
	n := m.cfg.sessions()
	results := make(chan []Output, n)
	errs := make(chan error, n)
	// Holding all sessions at once is what makes each call use a different
	// one: launch n calls together.
	for range n {
		go func() {
			outs, err := score(ctx)
			if err != nil {
				errs <- err
				return
			}
			results <- outs
		}()
	}
	var (
		widths []int
		all    []error
	)
	for range n {
		select {
		case err := <-errs:
			all = append(all, err)
		case outs := <-results:
			if widths != nil {
				continue
			}
			for _, o := range outs {
				if len(o.Values) != rows*o.Width {
					all = append(all, fmt.Errorf("smoke batch: output %q has %d values for %d rows of width %d", o.Name, len(o.Values), rows, o.Width))
				}
				if o.Strings != nil && len(o.Strings) != rows*o.Width {
					all = append(all, fmt.Errorf("smoke batch: string output %q has %d labels for %d rows of width %d", o.Name, len(o.Strings), rows, o.Width))
				}
				for _, v := range o.Values {
					if o.Strings != nil {
						break // class labels: Values hold NaN by design
					}
					if math.IsNaN(v) || math.IsInf(v, 0) {
						all = append(all, fmt.Errorf("smoke batch: output %q holds %v for finite inputs", o.Name, v))
						break
					}
				}
				widths = append(widths, o.Width)
			}
		}
	}
	if len(all) > 0 {
		return nil, fmt.Errorf("running the smoke batch of %d rows: %w", rows, errors.Join(all...))
	}
	return widths, nil
}

// Golden is a file of model inputs and the outputs a model must reproduce
// for them:
//
//	{"input": [[f00, f01, ...], ...],
//	 "outputs": {"score": [[0.25], ...], "probabilities": [[0.9, 0.1], ...]}}
//
// The single-output form {"input": ..., "output_name": "score", "output":
// [[...]]} (testdata/models/*.golden.json) is read too.
type Golden struct {
	Input   [][]float32            `json:"input"`
	Outputs map[string][][]float64 `json:"outputs"`

	InputName  string      `json:"input_name"`
	OutputName string      `json:"output_name"`
	Output     [][]float64 `json:"output"`
}

// ReadGolden reads a golden file.
func ReadGolden(path string) (*Golden, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading golden file: %w", err)
	}
	var g Golden
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("reading golden file %s: %w", path, err)
	}
	if g.Outputs == nil && g.OutputName != "" {
		g.Outputs = map[string][][]float64{g.OutputName: g.Output}
	}
	if len(g.Input) == 0 || len(g.Outputs) == 0 {
		return nil, fmt.Errorf("reading golden file %s: it needs input rows and outputs", path)
	}
	for name, rows := range g.Outputs {
		if len(rows) != len(g.Input) {
			return nil, fmt.Errorf("reading golden file %s: output %q has %d rows for %d input rows", path, name, len(rows), len(g.Input))
		}
	}
	return &g, nil
}

// Compare scores the golden inputs with m and checks every output that m
// returns and g lists, value by value, within tol (0 means
// DefaultTolerance). It returns the rows compared and the largest absolute
// difference; an error names the first value out of tolerance.
func (g *Golden) Compare(ctx context.Context, m *Model, tol float64) (int, float64, error) {
	if tol <= 0 {
		tol = DefaultTolerance
	}
	cols := len(g.Input[0])
	x := make([]float32, 0, len(g.Input)*cols)
	for i, row := range g.Input {
		if len(row) != cols {
			return 0, 0, fmt.Errorf("comparing with the golden file: input row %d has %d values, row 0 has %d", i, len(row), cols)
		}
		x = append(x, row...)
	}
	outs, err := m.Score(ctx, x, len(g.Input), cols)
	if err != nil {
		return 0, 0, fmt.Errorf("comparing with the golden file: %w", err)
	}
	compared, maxDiff := 0, 0.0
	for _, o := range outs {
		want, ok := g.Outputs[o.Name]
		if !ok {
			continue
		}
		compared++
		for r, wrow := range want {
			got := o.Row(r)
			if len(wrow) != len(got) {
				return 0, 0, fmt.Errorf("comparing with the golden file: output %q row %d has %d values, the golden file %d", o.Name, r, len(got), len(wrow))
			}
			for j, w := range wrow {
				d := math.Abs(got[j] - w)
				maxDiff = max(maxDiff, d)
				if d > tol || math.IsNaN(d) {
					return 0, 0, fmt.Errorf("comparing with the golden file: output %q row %d value %d is %.9g, the golden file says %.9g (difference %.3g > tolerance %g)", o.Name, r, j, got[j], w, d, tol)
				}
			}
		}
	}
	if compared == 0 {
		return 0, 0, fmt.Errorf("comparing with the golden file: it lists none of the bound outputs")
	}
	return len(g.Input), maxDiff, nil
}
