package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
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
	redis  []string
	schema string
	set    string
}

func (o *featuresTarget) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "c", "", "configuration file (streamscore.yaml): its redis and schema keys")
	f.StringSliceVar(&o.redis, "redis", nil, "Redis host:port, several for a Cluster (overrides redis.addrs and STREAMSCORE_REDIS)")
	f.StringVar(&o.schema, "schema", "", "event schema file declaring the feature set (overrides schema)")
	f.StringVar(&o.set, "set", "", "feature set name (required)")
	cmd.MarkFlagRequired("set")
}

// open loads the configuration, finds the feature set and connects to
// Redis; the caller closes the client.
func (o *featuresTarget) open(ctx context.Context) (*schemas.FeatureSet, redis.UniversalClient, config.RedisConfig, error) {
	cfg, err := config.Load(o.config)
	if err != nil {
		return nil, nil, cfg.Redis, err
	}
	if len(o.redis) > 0 {
		cfg.Redis.Addrs = o.redis
	}
	if o.schema != "" {
		cfg.Schema = o.schema
	}
	if err := cfg.Redis.Validate(); err != nil {
		return nil, nil, cfg.Redis, err
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, cfg.Redis, errors.New("no Redis configured: pass --redis host:port, set redis.addrs in --config, or set STREAMSCORE_REDIS")
	}
	if cfg.Schema == "" {
		return nil, nil, cfg.Redis, errors.New("no schema: pass --schema FILE, or --config with a schema key")
	}
	spec, err := schemas.Load(cfg.Schema)
	if err != nil {
		return nil, nil, cfg.Redis, err
	}
	var fs *schemas.FeatureSet
	for i := range spec.FeatureSets {
		if spec.FeatureSets[i].Name == o.set {
			fs = &spec.FeatureSets[i]
		}
	}
	if fs == nil {
		if len(spec.FeatureSets) == 0 {
			return nil, nil, cfg.Redis, fmt.Errorf("--set %s: schema %s declares no feature_sets", o.set, cfg.Schema)
		}
		return nil, nil, cfg.Redis, fmt.Errorf("--set %s: schema %s has no such feature set (it has: %s)", o.set, cfg.Schema, setNames(spec))
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, nil, cfg.Redis, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, nil, cfg.Redis, fmt.Errorf("connecting to Redis %s: %w", strings.Join(cfg.Redis.Addrs, ","), err)
	}
	return fs, client, cfg.Redis, nil
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
			ctx, stop := signalContext(discardLogger())
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
	if ttl < 0 {
		return errors.New("--ttl: must not be negative")
	}
	if batch < 1 {
		return errors.New("--batch: must be at least 1")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	fs, client, rc, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	w, err := features.NewWriter(client, fs, ttl)
	if err != nil {
		return err
	}
	var bar *progress
	if !quiet {
		total, err := features.FileRows(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		bar = newEntityBar(total, "loading "+fs.Name)
	}
	start := time.Now()
	st, err := features.ReadFile(ctx, path, fs, batch, func(ents []features.Entity) error {
		if err := w.Write(ctx, ents); err != nil {
			return err
		}
		if bar != nil {
			bar.Add(len(ents))
		}
		return nil
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("loading feature set %s after %d entities: %w", fs.Name, st.Rows, err)
	}
	elapsed := time.Since(start)
	expiry := "no expiry"
	if ttl > 0 {
		expiry = "expiring in " + ttl.String()
	}
	fmt.Fprintf(out, "loaded %d entities of feature set %s (%s, version %d) into Redis %s in %s (%.0f/s), %s\n",
		st.Rows, fs.Name, fs.Layout, fs.Version, strings.Join(rc.Addrs, ","), elapsed.Round(time.Millisecond),
		float64(st.Rows)/max(elapsed.Seconds(), 1e-9), expiry)
	if st.Defaulted > 0 {
		fmt.Fprintf(out, "%d feature values were absent or null in the file and were stored as their defaults\n", st.Defaulted)
	}
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
			ctx, stop := signalContext(discardLogger())
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
				err = writeInspectionJSON(cmd.OutOrStdout(), fs, in)
			} else {
				err = writeInspection(cmd.OutOrStdout(), fs, in, time.Now())
			}
			if err != nil {
				return err
			}
			if in.Status == "absent" {
				return fmt.Errorf("entity %q of feature set %s is not in Redis%s", in.Key, fs.Name, keyHint(fs, in.Key))
			}
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// keyHint suggests the key template when key does not look like it.
func keyHint(fs *schemas.FeatureSet, key string) string {
	prefix, _, _ := strings.Cut(fs.Key, "{")
	if prefix != "" && !strings.HasPrefix(key, prefix) {
		return fmt.Sprintf(" (keys of this set look like %q)", fs.Key)
	}
	return ""
}

func writeInspection(out io.Writer, fs *schemas.FeatureSet, in features.Inspection, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "set\t%s (%s, version %d, max_age %s)\n", fs.Name, fs.Layout, fs.Version, maxAge(fs))
	fmt.Fprintf(tw, "key\t%s\n", in.Key)
	fmt.Fprintf(tw, "status\t%s\n", in.Status)
	if in.Status != "absent" {
		if in.Version > 0 {
			fmt.Fprintf(tw, "stored version\t%d\n", in.Version)
		}
		if !in.Written.IsZero() {
			fmt.Fprintf(tw, "written\t%s (%s ago)\n", in.Written.UTC().Format(time.RFC3339Nano), now.Sub(in.Written).Round(time.Second))
		}
		if in.TTL >= 0 {
			fmt.Fprintf(tw, "ttl\t%s\n", in.TTL.Round(time.Second))
		} else {
			fmt.Fprintln(tw, "ttl\tnone")
		}
	}
	fmt.Fprintln(tw, "\nfeature\tvalue")
	for i, f := range fs.Features {
		v := fmt.Sprintf("%g", in.Values[i])
		if f.Type == schemas.TypeString {
			v = strconv.Quote(in.Strings[i])
		}
		if in.Present[i] {
			fmt.Fprintf(tw, "%s\t%s\n", f.Name, v)
		} else {
			fmt.Fprintf(tw, "%s\t%s (default)\n", f.Name, v)
		}
	}
	return tw.Flush()
}

func maxAge(fs *schemas.FeatureSet) string {
	if fs.MaxAge == 0 {
		return "none"
	}
	return fs.MaxAge.String()
}

func writeInspectionJSON(out io.Writer, fs *schemas.FeatureSet, in features.Inspection) error {
	type feature struct {
		Name    string `json:"name"`
		Value   any    `json:"value"` // a number, or a string feature's text
		Default bool   `json:"default,omitempty"`
	}
	doc := struct {
		Set     string    `json:"set"`
		Layout  string    `json:"layout"`
		Key     string    `json:"key"`
		Status  string    `json:"status"`
		Version int       `json:"stored_version,omitempty"`
		Written string    `json:"written,omitempty"`
		TTLMs   int64     `json:"ttl_ms"`
		Values  []feature `json:"features"`
	}{Set: fs.Name, Layout: fs.Layout, Key: in.Key, Status: in.Status, Version: in.Version, TTLMs: -1}
	if !in.Written.IsZero() {
		doc.Written = in.Written.UTC().Format(time.RFC3339Nano)
	}
	if in.TTL >= 0 {
		doc.TTLMs = in.TTL.Milliseconds()
	}
	for i, f := range fs.Features {
		var v any = in.Values[i]
		if f.Type == schemas.TypeString {
			v = in.Strings[i]
		}
		doc.Values = append(doc.Values, feature{Name: f.Name, Value: v, Default: !in.Present[i]})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
