package main

import (
	"fmt"
	"io"
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
		bin          sample.Output
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
--feature-names features, for features load.

--format avro|protobuf writes each event as a binary Kafka value in the
Confluent wire format (magic byte 0, the 4-byte --schema-id, for Protobuf
the message-index list, then the event encoded with the writer schema),
each value preceded by its length as a 4-byte big-endian integer. The
writer schema is --schema-id's in the registry section of --schema (an
event schema YAML, as produce --format takes); for Avro without --schema it
is the sample events' own schema (every field required). A malformed event
(--bad-ratio) is written as its JSON bytes, which a binary topic
dead-letters as malformed (the first byte is not 0).

--out FILE.avro writes an Avro Object Container File instead (what Spark,
pandas and fastavro write; replay --input, baseline --training and
features load read it), with the writer schema in its header and blocks
compressed with --codec. The writer schema is the sample events' own, or
--schema-id's from --schema. An Avro file cannot hold malformed rows:
--bad-ratio is refused.`,
		Example: `  streamscore gen --n 100000 --out events.jsonl
  streamscore gen --n 20000 --bad-ratio 0.01 --seed 7 > events.jsonl
  streamscore gen --n 5000 --label is_fraud --out history.jsonl --features-out user_stats.jsonl
  streamscore gen --n 5000 --label is_fraud --out history.avro --codec deflate
  streamscore gen --n 1000 --format avro --schema-id 1 --out events.frames`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.N < 0 || cfg.BadRatio < 0 || cfg.BadRatio > 1 {
				return fmt.Errorf("--n must not be negative and --bad-ratio must be within [0, 1]")
			}
			if err := bin.Validate(out, cfg); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			} else if bin.Format.Binary() && isTerminal(w) {
				return fmt.Errorf("--format %s writes binary values: redirect the output or name a file with --out", bin.Format)
			}
			bad, err := bin.Write(cmd.Context(), w, out, cfg)
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
	cmd.Flags().StringVar((*string)(&bin.Format), "format", "json", "event format: json (JSONL), avro or protobuf (length-prefixed Confluent wire-format values); --out *.avro writes an Avro container file")
	cmd.Flags().IntVar(&bin.SchemaID, "schema-id", 0, "writer schema id: written into each binary value, and found in --schema's registry section")
	cmd.Flags().StringVar(&bin.Schema, "schema", "", "event schema YAML whose registry section holds the writer schema (--format protobuf needs it; avro defaults to the sample events' schema)")
	cmd.Flags().StringVar(&bin.Message, "message", "", "Protobuf message name to write (default: the schema's first message)")
	cmd.Flags().StringVar(&bin.Codec, "codec", "deflate", "block codec of an --out *.avro file: null, deflate, snappy or zstandard")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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
