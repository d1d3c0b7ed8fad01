package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/consumers"
)

func newTopicsListCmd() *cobra.Command {
	var (
		kf       kafkaConnFlags
		asJSON   bool
		internal bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the cluster's topics with partitions and record counts",
		Long: `list prints every topic of the cluster: its partition count, replication
factor, and the records it holds (high minus low watermark, summed over its
partitions). The broker's internal topics are left out unless --internal.`,
		Example: `  streamscore topics list
  streamscore topics list --json | jq -r '.[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts, err := describeTopics(kf, nil, internal, false)
			if err != nil {
				return err
			}
			if asJSON {
				return encodeJSONTo(cmd.OutOrStdout(), ts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION\tRECORDS")
			for _, t := range ts {
				repl := 0
				if len(t.Partitions) > 0 {
					repl = len(t.Partitions[0].Replicas)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", t.Name, len(t.Partitions), repl, t.Records)
			}
			return tw.Flush()
		},
	}
	kf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of topics (snake_case keys)")
	cmd.Flags().BoolVar(&internal, "internal", false, "include the broker's internal topics (__consumer_offsets)")
	return cmd
}

func newTopicsDescribeCmd() *cobra.Command {
	var (
		kf     kafkaConnFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "describe TOPIC...",
		Short: "Show topics' partitions, leaders, watermarks and configuration",
		Long: `describe prints, for each named topic, every partition's leader, replicas,
in-sync replicas, and low and high watermarks (the first offset held and the
offset the next record gets), and the topic's configuration entries that
differ from the broker's defaults (as the broker's DescribeConfigs reports
them; where the broker does not answer it, the reason is printed instead).
A topic that does not exist is an error.`,
		Example: `  streamscore topics describe events events.dlq
  streamscore topics describe scored --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := describeTopics(kf, args, true, true)
			if err != nil {
				return err
			}
			if asJSON {
				return encodeJSONTo(cmd.OutOrStdout(), ts)
			}
			return writeTopics(cmd.OutOrStdout(), ts)
		},
	}
	kf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of topics (snake_case keys)")
	return cmd
}

// describeTopics connects as kf says and describes names (all when empty).
func describeTopics(kf kafkaConnFlags, names []string, internal, withConfig bool) ([]consumers.TopicInfo, error) {
	kc, err := kf.connect()
	if err != nil {
		return nil, err
	}
	ctx, stop := signalContext(discardLogger())
	defer stop()
	if err := kc.reach(ctx); err != nil {
		return nil, err
	}
	client := consumers.Client(kc.dialer, kc.brokers, 10*time.Second)
	return consumers.DescribeTopics(ctx, client, names, internal, withConfig)
}

func writeTopics(w io.Writer, ts []consumers.TopicInfo) error {
	for i, t := range ts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "topic %s: %d partitions, %d records\n", t.Name, len(t.Partitions), t.Records)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PARTITION\tLEADER\tREPLICAS\tISR\tLOW\tHIGH")
		for _, p := range t.Partitions {
			leader := fmt.Sprint(p.Leader)
			if p.LeaderAddr != "" {
				leader += " (" + p.LeaderAddr + ")"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\t%d\n", p.Partition, leader, joinInts(p.Replicas), joinInts(p.ISR), p.LowWatermark, p.HighWatermark)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		switch {
		case t.ConfigError != "":
			fmt.Fprintf(w, "  config: not available (%s)\n", t.ConfigError)
		case len(t.Config) == 0:
			fmt.Fprintln(w, "  config: broker defaults")
		default:
			keys := make([]string, 0, len(t.Config))
			for k := range t.Config {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintln(w, "  config:")
			for _, k := range keys {
				fmt.Fprintf(w, "    %s=%s\n", k, t.Config[k])
			}
		}
	}
	return nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// encodeJSONTo writes v as indented JSON and a newline.
func encodeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
