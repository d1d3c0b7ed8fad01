package drift

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/streamscore/streamscore/schemas"
)

// Scorer scores a batch of model inputs; pipeline/model's Router is one.
// Build uses it to fill the prediction columns of a baseline.
type Scorer interface {
	Score(ctx context.Context, in schemas.ScoreInput) (schemas.ScoreResult, error)
}

// BuildConfig configures Build.
type BuildConfig struct {
	// Spec is the event schema the training rows follow.
	Spec *schemas.Spec
	// Files are the training files, .jsonl or .parquet, already expanded
	// (rowfile.Expand).
	Files []string
	// Bins, MaxCategories and Sample configure the Builder (zero: its
	// defaults); Categorical names the columns treated as categorical.
	Bins, MaxCategories, Sample int
	Categorical                 []string
	// Scorer, if set, scores every training row for the prediction
	// baseline; nil reads each output from the files' field of its name,
	// and drops the outputs the files lack.
	Scorer Scorer
	// Model names the scorer's model in errors.
	Model string
	// Events and Probe serve a Scorer bound to typed inputs (Spec.Typed),
	// which reads the decoded columns, not the float32 matrix: Events
	// reads each training file as events for the schema's decoder, Probe
	// makes the probe row. Both are required then, unused otherwise.
	Events EventReader
	Probe  Prober
}

// BuildResult is what Build made.
type BuildResult struct {
	Baseline *Baseline
	// Skipped counts the rows that were not JSON objects.
	Skipped int64
	// Dropped names the outputs left out because the files lack them
	// (only without a Scorer).
	Dropped []string
}

// Build computes a baseline from training files: it reads them twice
// (sample for the bin edges, then count), scoring each batch with
// cfg.Scorer when there is one. It blocks until done or ctx is done.
func Build(ctx context.Context, cfg BuildConfig) (BuildResult, error) {
	spec := cfg.Spec
	if cfg.Scorer != nil && spec.Typed() && (cfg.Events == nil || cfg.Probe == nil) {
		return BuildResult{}, fmt.Errorf("scoring training rows with %s: the schema feeds typed inputs, which need BuildConfig.Events and Probe", cfg.Model)
	}
	outputs, err := probeOutputs(ctx, cfg.Scorer, cfg.Probe, cfg.Model, spec)
	if err != nil {
		return BuildResult{}, err
	}
	cols, err := PlanColumns(spec, PlanOptions{Categorical: cfg.Categorical, Outputs: outputs})
	if err != nil {
		return BuildResult{}, err
	}
	b, err := NewBuilder(cols, BuilderConfig{Bins: cfg.Bins, MaxCategories: cfg.MaxCategories, Sample: cfg.Sample})
	if err != nil {
		return BuildResult{}, err
	}
	reader := NewTrainingReader(spec, cols)
	typed := cfg.Scorer != nil && spec.Typed()
	var dec *schemas.Decoder
	if typed {
		dec = newTypedDecoder(spec)
	}
	var skipped int64
	for pass := range 2 {
		skipped = 0
		for _, f := range cfg.Files {
			var feed *typedFeed
			if typed {
				if feed, err = openTypedFeed(ctx, spec, dec, cfg.Events, f); err != nil {
					return BuildResult{}, err
				}
			}
			n, err := reader.ReadFile(ctx, f, func(tb *TrainingBatch) error {
				switch {
				case feed != nil:
					if err := feed.score(ctx, cfg.Scorer, cols, tb); err != nil {
						return err
					}
				case cfg.Scorer != nil:
					if err := scoreTraining(ctx, cfg.Scorer, spec, cols, tb); err != nil {
						return err
					}
				}
				if pass == 0 {
					return b.Sample(&tb.Batch)
				}
				return b.Count(&tb.Batch)
			})
			if feed != nil {
				feed.close()
			}
			if err != nil {
				return BuildResult{}, err
			}
			skipped += n
		}
		b.Freeze()
	}
	base := b.Baseline(spec.String(), cfg.Files, skipped)
	if base.Rows == 0 {
		return BuildResult{}, fmt.Errorf("no rows read from %s", strings.Join(cfg.Files, ", "))
	}
	res := BuildResult{Baseline: base, Skipped: skipped}
	if cfg.Scorer == nil {
		// Outputs not in the files cannot have a baseline.
		base.Columns = slices.DeleteFunc(base.Columns, func(c Column) bool {
			if c.Source == FromOutput && c.Missing == base.Rows {
				res.Dropped = append(res.Dropped, c.Name)
				return true
			}
			return false
		})
	}
	return res, nil
}

// probeOutputs returns the widths of sc's outputs (one row of defaults
// tells them; for a typed spec, one synthetic decoded event, as the canary
// probe scores); without a scorer, the schema's outputs, one wide each.
func probeOutputs(ctx context.Context, sc Scorer, probe Prober, name string, spec *schemas.Spec) ([]OutputWidth, error) {
	var outputs []OutputWidth
	if sc == nil {
		for _, out := range spec.Model.Outputs {
			outputs = append(outputs, OutputWidth{Name: out.As, Width: 1})
		}
		return outputs, nil
	}
	var (
		res schemas.ScoreResult
		err error
	)
	if spec.Typed() {
		res, err = probeTyped(ctx, sc, probe, spec)
	} else {
		res, err = sc.Score(ctx, schemas.ScoreInput{Features: make([]float32, spec.Columns()), Rows: 1, Cols: spec.Columns(), Keys: []string{""}})
	}
	if err != nil {
		return nil, fmt.Errorf("scoring a probe row with %s: %w", name, err)
	}
	for _, s := range res.Scores {
		outputs = append(outputs, OutputWidth{Name: s.Name, Width: s.Width})
	}
	return outputs, nil
}

// scoreTraining fills the output columns of tb by scoring its model inputs.
func scoreTraining(ctx context.Context, sc Scorer, spec *schemas.Spec, cols []Column, tb *TrainingBatch) error {
	res, err := sc.Score(ctx, schemas.ScoreInput{Features: tb.Inputs, Rows: tb.Rows, Cols: spec.Columns(), Keys: make([]string, tb.Rows)})
	if err != nil {
		return fmt.Errorf("scoring training rows: %w", err)
	}
	fillOutputs(cols, tb, res, func(i int) int { return i })
	return nil
}

// fillOutputs sets the output columns of tb from res: batch row i takes
// res row rowOf(i), or NaN where rowOf(i) < 0 or res lacks the value.
func fillOutputs(cols []Column, tb *TrainingBatch, res schemas.ScoreResult, rowOf func(int) int) {
	for i, c := range cols {
		if c.Source != FromOutput {
			continue
		}
		v := &tb.Cols[i]
		v.Floats = v.Floats[:0]
		idx := slices.IndexFunc(res.Scores, func(s schemas.Scores) bool { return s.Name == c.Output })
		for i := range tb.Rows {
			x := math.NaN()
			if r := rowOf(i); idx >= 0 && r >= 0 {
				s := &res.Scores[idx]
				if k := r*s.Width + c.Element; c.Element < s.Width && k < len(s.Values) {
					x = s.Values[k]
				}
			}
			v.Floats = append(v.Floats, x)
		}
	}
}

// WriteText prints what Build made, as the baseline command shows it: the
// file written at path, its id and rows, how many rows were skipped, which
// prediction columns are missing, then the columns (WriteSummary).
func (r BuildResult) WriteText(w io.Writer, path string, files int) error {
	b := r.Baseline
	fmt.Fprintf(w, "baseline %s (id %s): %d rows from %d file(s)", path, b.ID(), b.Rows, files)
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d rows skipped (not JSON objects)", r.Skipped)
	}
	fmt.Fprintln(w)
	if len(r.Dropped) > 0 {
		fmt.Fprintf(w, "no prediction baseline for %v: the files lack those fields; pass --model to score the rows\n", r.Dropped)
	}
	return b.WriteSummary(w)
}

// WriteSummary prints one line per column of b: kind, bins, missing and
// defaulted counts, and its range or top values.
func (b *Baseline) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCOLUMN\tKIND\tBINS\tMISSING\tDEFAULTED\tRANGE / TOP VALUES\t")
	for _, c := range b.Columns {
		kind := string(c.Kind)
		if c.Source == FromOutput {
			kind = "prediction"
		}
		desc := fmt.Sprintf("%.4g … %.4g (mean %.4g, sd %.4g)", c.Min, c.Max, c.Mean, c.Std)
		if c.Kind == Categorical {
			top := c.Categories
			if len(top) > 5 {
				top = append(slices.Clone(top[:5]), "…")
			}
			desc = strings.Join(top, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t\n", c.Name, kind, c.Bins(), pctOf(c.Missing, b.Rows), c.Defaulted, desc)
	}
	return tw.Flush()
}

func pctOf(n, total int64) string {
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(total))
}
