package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/streamscore/streamscore/internal/sample"
)

func newGenCmd() *cobra.Command {
	var (
		cfg          sample.Config
		out          string
		featuresOut  string
		featureNames []string
	)
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write sample events (JSONL) for trying streamscore out",
		Long: `gen writes sample events matching testdata/*.schema.yaml: an event_id, a
user_id key, a ts in epoch milliseconds, 32 float features f00..f31 and a
merchant passthrough field. --bad-ratio mixes in malformed events of every
dead-letter kind. --label adds a 0/1 label field the features predict (for
replay's metrics and baseline), --string-feature a string field with ten
values (for schemas with string features), and --features-out writes one
row per user key (u-0 … u-<users-1>, as the events' user_id) with the
--feature-names features, for features load.`,
		Example: `  streamscore gen --n 100000 --out events.jsonl
  streamscore gen --n 20000 --bad-ratio 0.01 --seed 7 > events.jsonl
  streamscore gen --n 5000 --label is_fraud --out history.jsonl --features-out user_stats.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.N < 0 || cfg.BadRatio < 0 || cfg.BadRatio > 1 {
				return fmt.Errorf("--n must not be negative and --bad-ratio must be within [0, 1]")
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bad, err := sample.Write(w, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %d events (%d malformed)\n", cfg.N, bad)
			if featuresOut == "" {
				return nil
			}
			if err := writeFeatureRows(featuresOut, cfg, featureNames); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %d feature rows (%s) to %s\n", max(cfg.Users, 1), strings.Join(featureNames, ", "), featuresOut)
			return nil
		},
	}
	cmd.Flags().IntVarP(&cfg.N, "n", "n", 10000, "number of events")
	cmd.Flags().IntVar(&cfg.Users, "users", 1000, "number of distinct user keys")
	cmd.Flags().StringVar(&cfg.IDPrefix, "id-prefix", "e-", "prefix of every event id")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed (same seed, same events)")
	cmd.Flags().Float64Var(&cfg.BadRatio, "bad-ratio", 0, "share of malformed events")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (default stdout)")
	cmd.Flags().StringVar(&cfg.Label, "label", "", "add a 0/1 label field of this name that the features predict")
	cmd.Flags().StringArrayVar(&cfg.StringFeatures, "string-feature", nil, "add a string field of this name (ten values); repeatable")
	cmd.Flags().StringVar(&featuresOut, "features-out", "", "also write one feature row per user key to this JSONL file")
	cmd.Flags().StringSliceVar(&featureNames, "feature-names", []string{"f28", "f29", "f30", "f31"}, "features of each --features-out row")
	return cmd
}

// writeFeatureRows writes the feature rows of cfg's user keys to path.
func writeFeatureRows(path string, cfg sample.Config, names []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = sample.WriteFeatures(f, "user_id", cfg.Users, names, cfg.Seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
