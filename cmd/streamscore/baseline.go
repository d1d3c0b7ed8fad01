package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/pipeline/drift"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/rowfile"
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
	bc := drift.BuildConfig{Spec: spec, Files: files, Bins: o.bins, MaxCategories: o.maxCategories, Sample: o.sample, Categorical: o.categorical, Model: modelPath}
	bc.Inherit(cfg.Drift)
	if modelPath != "" {
		sc, err := scoring.OpenTrainingScorer(ctx, &cfg, o.onnxLib, modelPath, spec)
		if err != nil {
			return err
		}
		defer sc.Close()
		bc.Scorer = sc
		// A typed model reads training rows as replay reads file rows.
		bc.Events, bc.Probe = scoring.FileEvents, model.SmokeBatch
	}
	res, err := drift.Build(ctx, bc)
	if err != nil {
		return err
	}
	if err := res.Baseline.Save(o.out); err != nil {
		return err
	}
	if o.quiet {
		fmt.Fprintln(w, o.out)
		return nil
	}
	return res.WriteText(w, o.out, len(files))
}

// resolve fills the schema and model the flags leave out from the config, checks
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
	files, err = rowfile.Expand(o.files)
	if err != nil {
		return nil, "", err
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
