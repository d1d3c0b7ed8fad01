package main

import (
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/service"
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
				return ts.WriteJSON(cmd.OutOrStdout())
			}
			return ts.WriteTable(cmd.OutOrStdout())
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
				return ts.WriteJSON(cmd.OutOrStdout())
			}
			return ts.WriteText(cmd.OutOrStdout())
		},
	}
	kf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of topics (snake_case keys)")
	return cmd
}

// describeTopics connects as kf says and describes names (all when empty).
func describeTopics(kf kafkaConnFlags, names []string, internal, withConfig bool) (consumers.Topics, error) {
	kc, err := kf.connect()
	if err != nil {
		return nil, err
	}
	ctx, stop := service.SignalContext(discardLogger())
	defer stop()
	return kc.DescribeTopics(ctx, names, internal, withConfig)
}
