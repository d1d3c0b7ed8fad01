package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

func init() { commands = append(commands, newDLQCmd) }

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and redrive dead letters"}
	cmd.AddCommand(newRedriveCmd())
	return cmd
}

type redriveOptions struct {
	kafka   kafkaConnFlags
	dlq     string
	to      string
	reasons []string
	since   string
	dryRun  bool
	quiet   bool
}

func newRedriveCmd() *cobra.Command {
	var o redriveOptions
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Send dead letters back to their input topic after a fix",
		Long: `redrive reads the dead-letter topic up to its current end and writes each
matching dead letter's original key, value and headers back to the topic it
came from (the streamscore.source.topic header, or --to-topic), without the
streamscore.* headers. It prints how many it sent, by reason.

The dead-letter topic is not changed; use --since to avoid sending the same
letters twice on a second run.`,
		Example: `  streamscore dlq redrive --dlq-topic events.dlq --reason type_mismatch --dry-run
  streamscore dlq redrive --dlq-topic events.dlq --since 2026-11-24T10:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(discardLogger())
			defer stop()
			return redrive(ctx, cmd.OutOrStdout(), o)
		},
	}
	o.kafka.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.dlq, "dlq-topic", "", "dead-letter topic to read (required)")
	f.StringVar(&o.to, "to-topic", "", "topic to send to (default: each letter's source topic)")
	f.StringSliceVar(&o.reasons, "reason", nil, "only letters with this reason code (repeatable): invalid_json, missing_field, type_mismatch, non_finite, too_large, schema_mismatch, model_error, output_rejected")
	f.StringVar(&o.since, "since", "", "only letters dead-lettered at or after this time (RFC 3339, or a duration ago such as 2h)")
	f.BoolVar(&o.dryRun, "dry-run", false, "count what would be sent; send nothing")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since: %q is neither an RFC 3339 time nor a positive duration", s)
}

func redrive(ctx context.Context, w io.Writer, o redriveOptions) error {
	if o.dlq == "" {
		return fmt.Errorf("--dlq-topic is required")
	}
	since, err := parseSince(o.since, time.Now())
	if err != nil {
		return err
	}
	want, err := reasonSet(o.reasons)
	if err != nil {
		return err
	}
	kc, err := o.kafka.connect()
	if err != nil {
		return err
	}
	if err := kc.reach(ctx); err != nil {
		return err
	}
	pc := producers.Config{Brokers: kc.brokers, Topic: "unused", Transport: kc.transport}
	kw := pc.NewKafkaWriter()
	defer kw.Close()

	var (
		batch   []kafka.Message
		sent    = map[string]int{}
		skipped int
		cut     int // truncated dead letters, never redriven
		total   int
	)
	flush := func() error {
		if len(batch) == 0 || o.dryRun {
			batch = batch[:0]
			return nil
		}
		if err := kw.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("redriving: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	_, err = consumers.Tail(ctx, consumers.TailConfig{Brokers: kc.brokers, Dialer: kc.dialer, Topic: o.dlq, FromBeginning: true, UntilEnd: true, Idle: 30 * time.Second},
		func(m schemas.Message) error {
			total++
			out, reason, ok, truncated, err := o.redriven(m, want, since)
			if err != nil {
				return err
			}
			if truncated {
				// Its value is a prefix of the original event: sending it
				// back would only make an invalid_json dead letter.
				skipped++
				cut++
				return nil
			}
			if !ok {
				skipped++
				return nil
			}
			sent[reason]++
			batch = append(batch, out)
			if len(batch) >= 1000 {
				return flush()
			}
			return nil
		})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	o.report(w, total, skipped, cut, sent)
	return nil
}

// reasonSet checks --reason values against the dead-letter reason codes.
func reasonSet(reasons []string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, r := range []schemas.Reason{schemas.ReasonInvalidJSON, schemas.ReasonMissingField, schemas.ReasonTypeMismatch, schemas.ReasonNonFinite, schemas.ReasonTooLarge, schemas.ReasonSchemaMismatch, schemas.ReasonModelError, schemas.ReasonOutputRejected} {
		known[string(r)] = true
	}
	want := map[string]bool{}
	for _, r := range reasons {
		if !known[r] {
			return nil, fmt.Errorf("--reason: %q is not a dead-letter reason code", r)
		}
		want[r] = true
	}
	return want, nil
}

// redriven returns the record to send for dead letter m (its source topic
// or --to-topic, without streamscore's headers) and its reason; ok is
// false when --reason or --since leave it out.
func (o *redriveOptions) redriven(m schemas.Message, want map[string]bool, since time.Time) (out kafka.Message, reason string, ok, truncated bool, err error) {
	var source, at string
	var keep []kafka.Header
	for _, h := range m.Headers {
		switch h.Key {
		case schemas.HeaderReason:
			reason = string(h.Value)
		case schemas.HeaderSourceTopic:
			source = string(h.Value)
		case schemas.HeaderTime:
			at = string(h.Value)
		case producers.HeaderTruncated:
			truncated = string(h.Value) == "true"
		}
		if !strings.HasPrefix(h.Key, "streamscore.") {
			keep = append(keep, kafka.Header{Key: h.Key, Value: h.Value})
		}
	}
	if len(want) > 0 && !want[reason] {
		return out, reason, false, false, nil
	}
	if truncated {
		return out, reason, false, true, nil
	}
	if !since.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil || t.Before(since) {
			return out, reason, false, false, nil
		}
	}
	to := o.to
	if to == "" {
		to = source
	}
	if to == "" {
		return out, reason, false, false, fmt.Errorf("dead letter at %s/%d@%d names no source topic; pass --to-topic", o.dlq, m.Partition, m.Offset)
	}
	return kafka.Message{Topic: to, Key: m.Key, Value: m.Value, Headers: keep}, reason, true, false, nil
}

// report prints what was (or, on a dry run, would be) sent, by reason.
func (o *redriveOptions) report(w io.Writer, total, skipped, cut int, sent map[string]int) {
	n := 0
	reasons := make([]string, 0, len(sent))
	for r, c := range sent {
		reasons = append(reasons, r)
		n += c
	}
	sort.Strings(reasons)
	verb := "sent"
	if o.dryRun {
		verb = "would send"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "read %d dead letters from %s; %s %d, skipped %d\n", total, o.dlq, verb, n, skipped)
	if cut > 0 {
		fmt.Fprintf(tw, "  (%d of the skipped were truncated: they hold only the start of the original event, whose size and sha256 are in their headers)\n", cut)
	}
	for _, r := range reasons {
		fmt.Fprintf(tw, "  %s\t%d\n", r, sent[r])
	}
	tw.Flush()
	if !o.quiet && o.dryRun {
		fmt.Fprintln(os.Stderr, "dry run: nothing was sent")
	}
}
