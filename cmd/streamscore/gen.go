package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/streamscore/streamscore/internal/sample"
)

func newGenCmd() *cobra.Command {
	var (
		cfg sample.Config
		out string
	)
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write sample events (JSONL) for trying streamscore out",
		Long: `gen writes sample events matching testdata/*.schema.yaml: an event_id, a
user_id key, a ts in epoch milliseconds, 32 float features f00..f31 and a
merchant passthrough field. --bad-ratio mixes in malformed events of every
dead-letter kind.`,
		Example: `  streamscore gen --n 100000 --out events.jsonl
  streamscore gen --n 20000 --bad-ratio 0.01 --seed 7 > events.jsonl`,
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
			return nil
		},
	}
	cmd.Flags().IntVarP(&cfg.N, "n", "n", 10000, "number of events")
	cmd.Flags().IntVar(&cfg.Users, "users", 1000, "number of distinct user keys")
	cmd.Flags().StringVar(&cfg.IDPrefix, "id-prefix", "e-", "prefix of every event id")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed (same seed, same events)")
	cmd.Flags().Float64Var(&cfg.BadRatio, "bad-ratio", 0, "share of malformed events")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (default stdout)")
	return cmd
}
