package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/pipeline/drift"
)

func init() { commands = append(commands, newDriftCmd) }

func newDriftCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Inspect drift windows: status table, HTML report",
		Long: `drift reads the rolling drift window that every run replica adds into in
Redis (drift.enabled in the configuration) and scores it against the
baseline: status prints a table, report writes an HTML page with plots.`,
	}
	cmd.AddCommand(newDriftStatusCmd(), newDriftReportCmd())
	return cmd
}

// driftTarget is what the drift subcommands read: the configuration's
// drift settings, Redis and the model version, with flag overrides.
type driftTarget struct {
	config   string
	model    string
	version  string
	ov       overrides // --redis
	oldModel string    // --model, the deprecated spelling of --model-name
	oldVer   string    // --version, the deprecated spelling of --model-version
	prefix   string
	baseline string
}

func (d *driftTarget) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&d.config, "config", "c", "", "configuration file (streamscore.yaml) with drift, redis and model settings")
	f.StringVar(&d.model, "model-name", "", "model name (default: model.name, or the model file's base name)")
	f.StringVar(&d.version, "model-version", "", "model version (default: model.version)")
	f.StringVar(&d.oldModel, "model", "", "model name (deprecated: use --model-name; --model is a model file elsewhere)")
	f.StringVar(&d.oldVer, "version", "", "model version (deprecated: use --model-version)")
	f.MarkDeprecated("model", "use --model-name instead")
	f.MarkDeprecated("version", "use --model-version instead")
	f.StringSliceVar(&d.ov.redis, "redis", nil, "Redis host:port, several for a Cluster (overrides redis.addrs and STREAMSCORE_REDIS)")
	f.StringVar(&d.prefix, "prefix", "", "key prefix (default: drift.prefix; a replay's own prefix to read its window)")
	f.StringVar(&d.baseline, "baseline", "", "baseline file (default: drift.baseline)")
}

// open loads the configuration with the flags' overrides, the baseline and
// a Redis client. The caller closes the client.
func (d *driftTarget) open() (*scoring.DriftWindow, error) {
	cfg, err := config.Load(d.config)
	if err != nil {
		return nil, err
	}
	d.ov.apply(&cfg)
	cfg.Drift.Baseline = cmp.Or(d.baseline, cfg.Drift.Baseline)
	cfg.Drift.Prefix = cmp.Or(d.prefix, cfg.Drift.Prefix)
	return scoring.OpenDriftWindow(&cfg, cmp.Or(d.model, d.oldModel), cmp.Or(d.version, d.oldVer))
}

func newDriftStatusCmd() *cobra.Command {
	var (
		t      driftTarget
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print each column's drift score, threshold, state and events in the window",
		Long: `status reads the current window of a model version from Redis, scores every
baseline column against it (PSI, Kolmogorov–Smirnov, Jensen–Shannon,
Wasserstein, chi-squared, missing-rate change) and prints one row per column:
its main score, threshold, state (DRIFT, ok, or "no data" below
drift.min_events) and the events in the window. It changes nothing, and
exits 3 while a column is in drift, so a script can gate on it.`,
		Example: `  streamscore drift status --config streamscore.yaml
  streamscore drift status --config streamscore.yaml --model-version 4 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := t.open()
			if err != nil {
				return err
			}
			defer w.Client.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			st, err := drift.ReadStatus(ctx, drift.NewRedisStore(w.Client), w.Baseline, w.Namespace, w.Config, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				err = drift.WriteStatusJSON(cmd.OutOrStdout(), st)
			} else {
				err = drift.WriteTable(cmd.OutOrStdout(), st)
			}
			if err != nil {
				return err
			}
			if n := st.Drifting(); n > 0 {
				return checkFailedf("%d of %d columns are in drift", n, len(st.Columns))
			}
			return nil
		},
	}
	t.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func newDriftReportCmd() *cobra.Command {
	var (
		t   driftTarget
		out string
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a self-contained HTML page: per column, reference vs current histograms and the score over time",
		Long: `report reads the current window and its evaluation history from Redis and
writes one HTML page: a summary table, then per column one plot with the
reference and current histograms side by side and the column's main score
over time (the window's score at each evaluation and each bucket's own
score, with the alert and clear levels). Styles and plots (SVG) are inline;
the page loads nothing and runs no script.`,
		Example: `  streamscore drift report --config streamscore.yaml --out drift.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required (the HTML file to write)")
			}
			w, err := t.open()
			if err != nil {
				return err
			}
			defer w.Client.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			st, err := drift.WriteReportFile(ctx, out, drift.NewRedisStore(w.Client), w.Baseline, w.Namespace, w.Config, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d columns (%d in drift), %d events in the window\n", out, len(st.Columns), st.Drifting(), st.Events)
			return nil
		},
	}
	t.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "HTML file to write")
	return cmd
}
