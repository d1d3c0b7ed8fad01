package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// dlqScanFlags are the flags dlq inspect and dlq stats share.
type dlqScanFlags struct {
	kafka   kafkaConnFlags
	topic   string
	reasons []string
	since   string
	max     int
	asJSON  bool
}

func (f *dlqScanFlags) register(cmd *cobra.Command) {
	f.kafka.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.topic, "dlq-topic", "", "dead-letter topic to read (required)")
	fl.StringSliceVar(&f.reasons, "reason", nil, "only letters with this reason code (repeatable): "+strings.Join(schemas.ReasonCodes(), ", "))
	fl.StringVar(&f.since, "since", "", "only letters dead-lettered at or after this time (RFC 3339, or a duration ago such as 2h)")
	fl.IntVar(&f.max, "max", 100000, "read at most this many records of the topic (0: all up to its end offsets at the start)")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON (snake_case keys)")
}

// read checks the flags, reaches the brokers and scans the dead-letter
// topic as the flags (then set) describe; a signal ends the scan.
func (f *dlqScanFlags) read(set func(*consumers.LetterScan)) (*consumers.LetterStats, error) {
	s, kc, err := f.scan()
	if err != nil {
		return nil, err
	}
	set(&s)
	ctx, stop := service.SignalContext(discardLogger())
	defer stop()
	if err := kc.Reach(ctx); err != nil {
		return nil, err
	}
	return consumers.ScanLetters(ctx, s)
}

// scan checks the flags and returns the scan they describe.
func (f *dlqScanFlags) scan() (consumers.LetterScan, service.KafkaConn, error) {
	if f.topic == "" {
		return consumers.LetterScan{}, service.KafkaConn{}, fmt.Errorf("--dlq-topic is required")
	}
	if f.max < 0 {
		return consumers.LetterScan{}, service.KafkaConn{}, fmt.Errorf("--max: must not be negative")
	}
	since, err := producers.ParseSince(f.since, time.Now())
	if err != nil {
		return consumers.LetterScan{}, service.KafkaConn{}, err
	}
	if _, err := producers.ParseReasons(f.reasons); err != nil {
		return consumers.LetterScan{}, service.KafkaConn{}, err
	}
	kc, err := f.kafka.connect()
	if err != nil {
		return consumers.LetterScan{}, service.KafkaConn{}, err
	}
	return consumers.LetterScan{Brokers: kc.Brokers, Dialer: kc.Dialer, Topic: f.topic, Since: since, Reasons: f.reasons, Max: f.max}, kc, nil
}

func newDLQInspectCmd() *cobra.Command {
	var (
		f       dlqScanFlags
		samples int
		full    bool
	)
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Print sample dead letters with their reason, source and error",
		Long: `inspect reads the dead-letter topic from its start up to its end offsets at
the moment it starts (never waiting for new letters; at most --max records)
and prints, for each reason, the first --samples letters: when, from which
topic, partition and offset, the field and error, and the start of the
original value (all of it with --full), then the counts by reason.

With --json it prints one JSON object per sample letter (the shape of
schemas/contracts/dead-letter.v1.json) and nothing else.`,
		Example: `  streamscore dlq inspect --dlq-topic events.dlq
  streamscore dlq inspect --dlq-topic events.dlq --reason type_mismatch --since 1h --samples 10
  streamscore dlq inspect --dlq-topic events.dlq --json | jq -r '.headers["streamscore.error"]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if samples < 1 {
				return fmt.Errorf("--samples: must be at least 1")
			}
			st, err := f.read(func(s *consumers.LetterScan) { s.Samples = samples })
			if err != nil {
				return err
			}
			if f.asJSON {
				return st.WriteSamplesJSON(cmd.OutOrStdout())
			}
			return st.WriteSamples(cmd.OutOrStdout(), full)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&samples, "samples", 3, "letters to print per reason")
	cmd.Flags().BoolVar(&full, "full", false, "print each letter's whole value (default: its first 200 bytes)")
	return cmd
}

func newDLQStatsCmd() *cobra.Command {
	var (
		f      dlqScanFlags
		bucket time.Duration
	)
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count dead letters by reason, by source topic and by time",
		Long: `stats reads the dead-letter topic from its start up to its end offsets at
the moment it starts (at most --max records) and prints how many letters it
holds by reason, by source topic, and per --bucket of the time they were
dead-lettered (the streamscore.time header).`,
		Example: `  streamscore dlq stats --dlq-topic events.dlq
  streamscore dlq stats --dlq-topic events.dlq --since 24h --bucket 1h --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bucket <= 0 {
				return fmt.Errorf("--bucket: must be a positive duration such as 1h")
			}
			st, err := f.read(func(s *consumers.LetterScan) { s.Bucket = bucket })
			if err != nil {
				return err
			}
			if f.asJSON {
				return st.WriteJSON(cmd.OutOrStdout())
			}
			return st.WriteText(cmd.OutOrStdout(), bucket)
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&bucket, "bucket", time.Hour, "width of the time buckets")
	return cmd
}
