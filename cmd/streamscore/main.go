// Command streamscore deploys a trained ONNX model onto a Kafka event stream:
// it consumes events, scores them in micro-batches with ONNX Runtime, and
// publishes one scored event per input event.
//
// Run `streamscore --help` for the subcommands.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "streamscore:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "streamscore",
		Short: "Score Kafka event streams with ONNX models",
		Long: `streamscore consumes events from a Kafka topic, gathers them into
micro-batches laid out as Apache Arrow columns, scores each batch with one
ONNX Runtime call, and publishes one scored event per input event. Offsets
are committed only after the scored events are acknowledged (at-least-once).`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			useRedisLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		},
	}
	root.AddCommand(
		newRunCmd(),
		newProduceCmd(),
		newConsumeCmd(),
		newTopicsCmd(),
		newGenCmd(),
		newDemoCmd(),
	)
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands holds the constructors of subcommands that register themselves
// from their own files (func init() { commands = append(commands, newXCmd) }),
// so each feature's command lives beside its code.
var commands []func() *cobra.Command
