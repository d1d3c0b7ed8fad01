package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

func init() { commands = append(commands, newDLQCmd) }

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and redrive dead letters"}
	cmd.AddCommand(newRedriveCmd(), newDLQInspectCmd(), newDLQStatsCmd())
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
	asJSON  bool
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
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			return redrive(ctx, cmd.OutOrStdout(), o)
		},
	}
	o.kafka.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.dlq, "dlq-topic", "", "dead-letter topic to read (required)")
	f.StringVar(&o.to, "to-topic", "", "topic to send to (default: each letter's source topic)")
	f.StringSliceVar(&o.reasons, "reason", nil, "only letters with this reason code (repeatable): "+strings.Join(schemas.ReasonCodes(), ", "))
	f.StringVar(&o.since, "since", "", "only letters dead-lettered at or after this time (RFC 3339, or a duration ago such as 2h)")
	f.BoolVar(&o.dryRun, "dry-run", false, "count what would be sent; send nothing")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress output")
	f.BoolVar(&o.asJSON, "json", false, "print the counts as JSON (snake_case keys)")
	return cmd
}

func redrive(ctx context.Context, w io.Writer, o redriveOptions) error {
	if o.dlq == "" {
		return fmt.Errorf("--dlq-topic is required")
	}
	since, err := producers.ParseSince(o.since, time.Now())
	if err != nil {
		return err
	}
	want, err := producers.ParseReasons(o.reasons)
	if err != nil {
		return err
	}
	kc, err := o.kafka.connect()
	if err != nil {
		return err
	}
	res, err := kc.Redrive(ctx, producers.RedriveConfig{DLQ: o.dlq, To: o.to, Reasons: want, Since: since, DryRun: o.dryRun})
	if err != nil {
		return err
	}
	if o.asJSON {
		if err := res.WriteJSON(w, o.dlq, o.dryRun); err != nil {
			return err
		}
	} else {
		res.WriteText(w, o.dlq, o.dryRun)
	}
	if !o.quiet && o.dryRun {
		fmt.Fprintln(os.Stderr, "dry run: nothing was sent")
	}
	return nil
}
