package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/schemas"
)

func init() { commands = append(commands, newFeaturesCmd) }

func newFeaturesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "features",
		Short: "Load online features into Redis and inspect them",
		Long: `features manages the feature sets a schema declares (feature_sets): the
features streamscore run looks up in Redis by entity key before scoring.`,
	}
	cmd.AddCommand(newFeaturesLoadCmd(), newFeaturesGetCmd())
	return cmd
}

// featuresTarget is the Redis and schema a features subcommand works on:
// from --config, overridden by --redis and --schema.
type featuresTarget struct {
	config string
	ov     overrides // --redis and --schema
	set    string
}

func (o *featuresTarget) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "c", "", "configuration file (streamscore.yaml): its redis and schema keys")
	f.StringSliceVar(&o.ov.redis, "redis", nil, "Redis host:port, several for a Cluster (overrides redis.addrs and STREAMSCORE_REDIS)")
	f.StringVar(&o.ov.schema, "schema", "", "event schema file declaring the feature set (overrides schema)")
	f.StringVar(&o.set, "set", "", "feature set name (required)")
	cmd.MarkFlagRequired("set")
}

// open loads the configuration with the flags' overrides, finds the
// feature set and connects to Redis; the caller closes the client.
func (o *featuresTarget) open(ctx context.Context) (*schemas.FeatureSet, redis.UniversalClient, config.RedisConfig, error) {
	cfg, err := config.Load(o.config)
	if err != nil {
		return nil, nil, cfg.Redis, err
	}
	o.ov.apply(&cfg)
	fs, client, err := scoring.OpenFeatureSet(ctx, &cfg, o.set)
	return fs, client, cfg.Redis, err
}

func newFeaturesLoadCmd() *cobra.Command {
	var (
		o     featuresTarget
		path  string
		ttl   time.Duration
		batch int
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Bulk-load a feature set into Redis from JSONL or Parquet",
		Long: `load reads entities from a JSONL file (one JSON object per line) or a
Parquet file (by the .parquet extension) and writes them to Redis in the
feature set's layout, pipelined, with a progress bar on stderr.

Each row holds the fields the set's key template names (the set
"user:{user_id}" needs user_id) and one number per feature, by name; a
feature absent or null takes its default (counted in the summary). The
vector layout (the default) writes one packed value per entity with SET;
the hash layout one hash per entity with HSET (plus _ts and _v fields).
Every key gets the same write time, so a set's max_age counts from the load.`,
		Example: `  streamscore features load --config streamscore.yaml --set user_stats --file user_stats.parquet --ttl 48h
  streamscore features load --redis 127.0.0.1:6379 --schema schema.yaml --set user_stats --file stats.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			return loadFeatures(ctx, cmd.OutOrStdout(), &o, path, ttl, batch, quiet)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&path, "file", "", "JSONL or Parquet file of entities (required)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "expire every key written after this long (0: keys do not expire)")
	cmd.Flags().IntVar(&batch, "batch", 2000, "entities per pipelined round trip")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.MarkFlagRequired("file")
	return cmd
}

func loadFeatures(ctx context.Context, out io.Writer, o *featuresTarget, path string, ttl time.Duration, batch int, quiet bool) error {
	opts := features.LoadOptions{TTL: ttl, Batch: batch}
	if err := opts.Validate(); err != nil {
		return err
	}
	if err := features.CheckFile(path); err != nil {
		return err
	}
	fs, client, rc, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	finish := func() {}
	if !quiet {
		total, err := features.FileRows(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		bar := newEntityBar(total, "loading "+fs.Name)
		opts.Progress = func(n int) { bar.Add(n) }
		finish = func() { bar.Finish() }
	}
	start := time.Now()
	st, err := features.Load(ctx, client, fs, path, opts)
	finish()
	if err != nil {
		return err
	}
	st.WriteLoadText(out, fs, rc.Addrs, time.Since(start), ttl)
	return nil
}

// newEntityBar reports progress in entities on stderr (see progress).
func newEntityBar(total int64, what string) *progress {
	return newStderrProgress(total, what, "entities")
}

func newFeaturesGetCmd() *cobra.Command {
	var (
		o      featuresTarget
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "get --set NAME KEY",
		Short: "Show one entity's stored features",
		Long: `get reads one entity of a feature set straight from Redis (KEY is the
entity key as the set's template builds it, e.g. user:42) and shows its
features, write time, version and TTL, and whether scoring would use them
now: ok, or absent, stale (older than max_age), version (written for
another version of the set), malformed, or partial (some features absent;
their defaults are shown). It exits 1 when the entity is absent.`,
		Example: `  streamscore features get --config streamscore.yaml --set user_stats user:42
  streamscore features get --redis 127.0.0.1:6379 --schema schema.yaml --set user_stats --json user:42`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			fs, client, _, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer client.Close()
			in, err := features.Inspect(ctx, client, fs, args[0], time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				err = in.WriteJSON(cmd.OutOrStdout(), fs)
			} else {
				err = in.WriteText(cmd.OutOrStdout(), fs, time.Now())
			}
			if err != nil {
				return err
			}
			if in.Status == "absent" {
				return fmt.Errorf("entity %q of feature set %s is not in Redis%s", in.Key, fs.Name, features.KeyHint(fs, in.Key))
			}
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
