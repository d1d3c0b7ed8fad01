package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/drift"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

func init() { commands = append(commands, newBaselineCmd) }

// baselineOptions are the flags of `baseline`.
type baselineOptions struct {
	config        string
	schema        string
	files         []string
	out           string
	bins          int
	categorical   []string
	maxCategories int
	sample        int
	model         string
	onnxLib       string
	quiet         bool
}

func newBaselineCmd() *cobra.Command {
	var o baselineOptions
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Compute a drift baseline (bins and reference counts) from training data",
		Long: `baseline reads training data (JSONL: one JSON object per line, or Parquet:
one column per field) and writes the reference distribution that drift
monitoring compares live traffic with:

  - per numeric feature: bin edges at the quantiles of the training values
    (--bins groups of equal size) and the count in each bin;
  - per categorical feature or passthrough field (--categorical; bool
    features always): the --max-categories most frequent values, their counts
    and one count for every other value;
  - the same for each model output (prediction drift): scored with --model,
    or read from the file's field named as the output;
  - per column, missing values (null, or absent with no default) counted
    apart. A feature absent from a row takes the schema's default, as the
    decoder does for live events, and is binned there.

Files are read twice (once for the quantiles, once for the counts). Fields
are named as in the events; event id, key and time are not needed.`,
		Example: `  streamscore baseline --schema payments.schema.yaml --file train.parquet --out baseline.json
  streamscore baseline --config streamscore.yaml --file 'train/*.jsonl' --out baseline.json --bins 20
  streamscore baseline --schema s.yaml --file train.jsonl --model model.onnx --categorical country,device --out baseline.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBaseline(cmd.Context(), cmd.OutOrStdout(), &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "c", "", "configuration file: schema, model and drift.bins/categorical/max_categories when the flags leave them out")
	f.StringVar(&o.schema, "schema", "", "event schema file (default: schema of --config)")
	f.StringSliceVar(&o.files, "file", nil, "training file(s), .jsonl or .parquet; globs allowed; repeat or comma-separate")
	f.StringVarP(&o.out, "out", "o", "", "baseline file to write (JSON)")
	f.IntVar(&o.bins, "bins", 0, "quantile bins per numeric column (default: drift.bins, else 10)")
	f.StringSliceVar(&o.categorical, "categorical", nil, "features (numeric codes) and passthrough fields (strings) to treat as categorical (default: drift.categorical)")
	f.IntVar(&o.maxCategories, "max-categories", 0, "vocabulary size per categorical column; rarer values count as other (default: drift.max_categories, else 50)")
	f.IntVar(&o.sample, "sample", 0, "values per numeric column kept to find quantiles (reservoir, fixed seed; default 262144); counts are always exact")
	f.StringVar(&o.model, "model", "", "ONNX model to score the training rows with, for the prediction baseline (default: model.path of --config; \"none\" to skip)")
	f.StringVar(&o.onnxLib, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (default: onnxruntime_lib of --config, else $ONNXRUNTIME_LIB)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the file written")
	return cmd
}

func runBaseline(ctx context.Context, w io.Writer, o *baselineOptions) error {
	cfg, err := config.Load(o.config)
	if err != nil {
		return err
	}
	files, modelPath, err := o.resolve(&cfg)
	if err != nil {
		return err
	}
	spec, err := schemas.Load(o.schema)
	if err != nil {
		return err
	}
	sc, outputs, err := o.openModel(ctx, &cfg, modelPath, spec)
	if err != nil {
		return err
	}
	if sc != nil {
		defer sc.Close()
	}
	cols, err := drift.PlanColumns(spec, drift.PlanOptions{Categorical: o.categorical, Outputs: outputs})
	if err != nil {
		return err
	}
	base, skipped, err := o.build(ctx, sc, spec, cols, files)
	if err != nil {
		return err
	}
	var dropped []string
	if sc == nil {
		// Outputs not in the files cannot have a baseline.
		base.Columns = slices.DeleteFunc(base.Columns, func(c drift.Column) bool {
			if c.Source == drift.FromOutput && c.Missing == base.Rows {
				dropped = append(dropped, c.Name)
				return true
			}
			return false
		})
	}
	if err := base.Save(o.out); err != nil {
		return err
	}
	if o.quiet {
		fmt.Fprintln(w, o.out)
		return nil
	}
	fmt.Fprintf(w, "baseline %s (id %s): %d rows from %d file(s)", o.out, base.ID(), base.Rows, len(files))
	if skipped > 0 {
		fmt.Fprintf(w, ", %d rows skipped (not JSON objects)", skipped)
	}
	fmt.Fprintln(w)
	if len(dropped) > 0 {
		fmt.Fprintf(w, "no prediction baseline for %v: the files lack those fields; pass --model to score the rows\n", dropped)
	}
	return writeBaselineSummary(w, base)
}

// resolve fills the options the flags leave out from the config, checks
// the required ones, and returns the training files and the model to score
// them with ("" for none).
func (o *baselineOptions) resolve(cfg *config.Config) (files []string, modelPath string, err error) {
	if o.schema == "" {
		o.schema = cfg.Schema
	}
	if o.schema == "" {
		return nil, "", errors.New("--schema is required (or --config with a schema)")
	}
	if o.out == "" {
		return nil, "", errors.New("--out is required (the baseline file to write)")
	}
	if len(o.files) == 0 {
		return nil, "", errors.New("--file is required (training data, .jsonl or .parquet)")
	}
	files, err = expandTrainingFiles(o.files)
	if err != nil {
		return nil, "", err
	}
	if o.bins == 0 {
		o.bins = cfg.Drift.Bins
	}
	if o.maxCategories == 0 {
		o.maxCategories = cfg.Drift.MaxCategories
	}
	if o.categorical == nil {
		o.categorical = cfg.Drift.Categorical
	}
	modelPath = o.model
	if modelPath == "" && o.config != "" {
		modelPath = cfg.Model.Path
	}
	if modelPath == "none" {
		modelPath = ""
	}
	return files, modelPath, nil
}

// openModel opens the model that scores the training rows, if any, and
// returns the widths of its outputs (one row of defaults tells them);
// without a model, the schema's outputs, read from the files.
func (o *baselineOptions) openModel(ctx context.Context, cfg *config.Config, modelPath string, spec *schemas.Spec) (*model.Router, []drift.OutputWidth, error) {
	var outputs []drift.OutputWidth
	if modelPath == "" {
		for _, out := range spec.Model.Outputs {
			outputs = append(outputs, drift.OutputWidth{Name: out.As, Width: 1})
		}
		return nil, outputs, nil
	}
	lib := o.onnxLib
	if lib == "" {
		lib = cfg.OnnxRuntimeLib
	}
	if err := model.Init(lib); err != nil {
		return nil, nil, err
	}
	mc := cfg.Model
	mc.Path = modelPath
	if mc.Name == "" {
		mc.Name = strings.TrimSuffix(filepath.Base(modelPath), filepath.Ext(modelPath))
	}
	mc.Sessions = max(mc.Sessions, 1)
	mc.IntraOpThreads = max(mc.IntraOpThreads, 1)
	mc.InterOpThreads = max(mc.InterOpThreads, 1)
	sc, err := model.OpenScorer(ctx, mc.Config, mc.WarmupRows, spec)
	if err != nil {
		return nil, nil, err
	}
	res, err := sc.Score(ctx, schemas.ScoreInput{Features: make([]float32, spec.Columns()), Rows: 1, Cols: spec.Columns(), Keys: []string{""}})
	if err != nil {
		sc.Close()
		return nil, nil, fmt.Errorf("scoring a probe row with %s: %w", modelPath, err)
	}
	for _, s := range res.Scores {
		outputs = append(outputs, drift.OutputWidth{Name: s.Name, Width: s.Width})
	}
	return sc, outputs, nil
}

// build reads the files twice (sample for the bin edges, then count),
// scoring each batch with sc when there is a model, and returns the
// baseline and the rows skipped.
func (o *baselineOptions) build(ctx context.Context, sc *model.Router, spec *schemas.Spec, cols []drift.Column, files []string) (*drift.Baseline, int64, error) {
	b, err := drift.NewBuilder(cols, drift.BuilderConfig{Bins: o.bins, MaxCategories: o.maxCategories, Sample: o.sample})
	if err != nil {
		return nil, 0, err
	}
	reader := drift.NewTrainingReader(spec, cols)
	var skipped int64
	for pass := range 2 {
		skipped = 0
		for _, f := range files {
			n, err := reader.ReadFile(ctx, f, func(tb *drift.TrainingBatch) error {
				if sc != nil {
					if err := scoreTraining(ctx, sc, spec, cols, tb); err != nil {
						return err
					}
				}
				if pass == 0 {
					return b.Sample(&tb.Batch)
				}
				return b.Count(&tb.Batch)
			})
			if err != nil {
				return nil, 0, err
			}
			skipped += n
		}
		b.Freeze()
	}
	base := b.Baseline(spec.String(), files, skipped)
	if base.Rows == 0 {
		return nil, 0, fmt.Errorf("no rows read from %s", strings.Join(files, ", "))
	}
	return base, skipped, nil
}

// scoreTraining fills the output columns of tb by scoring its model inputs.
func scoreTraining(ctx context.Context, sc *model.Router, spec *schemas.Spec, cols []drift.Column, tb *drift.TrainingBatch) error {
	res, err := sc.Score(ctx, schemas.ScoreInput{Features: tb.Inputs, Rows: tb.Rows, Cols: spec.Columns(), Keys: make([]string, tb.Rows)})
	if err != nil {
		return fmt.Errorf("scoring training rows: %w", err)
	}
	for i, c := range cols {
		if c.Source != drift.FromOutput {
			continue
		}
		v := &tb.Cols[i]
		v.Floats = v.Floats[:0]
		idx := slices.IndexFunc(res.Scores, func(s schemas.Scores) bool { return s.Name == c.Output })
		for r := range tb.Rows {
			x := math.NaN()
			if idx >= 0 {
				s := &res.Scores[idx]
				if k := r*s.Width + c.Element; c.Element < s.Width && k < len(s.Values) {
					x = s.Values[k]
				}
			}
			v.Floats = append(v.Floats, x)
		}
	}
	return nil
}

// expandTrainingFiles expands globs; a name without one must exist.
func expandTrainingFiles(patterns []string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("expanding %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("expanding %q: no file matches", p)
			}
			out = append(out, m...)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func writeBaselineSummary(w io.Writer, b *drift.Baseline) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCOLUMN\tKIND\tBINS\tMISSING\tDEFAULTED\tRANGE / TOP VALUES\t")
	for _, c := range b.Columns {
		kind := string(c.Kind)
		if c.Source == drift.FromOutput {
			kind = "prediction"
		}
		desc := fmt.Sprintf("%.4g … %.4g (mean %.4g, sd %.4g)", c.Min, c.Max, c.Mean, c.Std)
		if c.Kind == drift.Categorical {
			top := c.Categories
			if len(top) > 5 {
				top = append(slices.Clone(top[:5]), "…")
			}
			desc = strings.Join(top, ", ")
		}
		total := b.Rows
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t\n", c.Name, kind, c.Bins(), pctOf(c.Missing, total), c.Defaulted, desc)
	}
	return tw.Flush()
}

func pctOf(n, total int64) string {
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(total))
}
