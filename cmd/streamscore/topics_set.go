package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/internal/service"
)

func newTopicsSetCmd() *cobra.Command {
	var kf kafkaConnFlags
	cmd := &cobra.Command{
		Use:   "set TOPIC NAME=VALUE...",
		Short: "Set configuration entries of a topic",
		Long: `set changes the named configuration entries of an existing topic (Kafka's
IncrementalAlterConfigs); entries not named keep their values. The broker
checks names and values and its refusal is printed. A history topic that
produce --preserve-timestamps writes old events to needs retention.ms=-1,
or the broker deletes those events at its next retention check.`,
		Example: `  streamscore topics set history retention.ms=-1
  streamscore topics set events.dlq retention.ms=2592000000`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var entries [][2]string
			for _, a := range args[1:] {
				name, value, ok := strings.Cut(a, "=")
				if !ok || name == "" {
					return fmt.Errorf("%q: write each entry as NAME=VALUE, such as retention.ms=-1", a)
				}
				entries = append(entries, [2]string{name, value})
			}
			kc, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			if err := kc.SetTopicConfig(ctx, args[0], entries); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "set %d entries of %s\n", len(entries), args[0])
			return nil
		},
	}
	kf.register(cmd)
	return cmd
}
