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

	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/ops"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "streamscore:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "streamscore",
		Short: "Score Kafka event streams with ONNX models",
		Long: `streamscore consumes events from a Kafka topic, gathers them into
micro-batches laid out as Apache Arrow columns, scores each batch with one
ONNX Runtime call, and publishes one scored event per input event. Offsets
are committed only after the scored events are acknowledged (at-least-once).

Flags mean the same on every command: --file is an input file, --model a
model file or registry folder (a model's name is --model-name, or --name
where a command creates one), --version a model version (on the model
subcommands; the binary's is "streamscore version"), --redis and
--onnxruntime-lib override redis.addrs and onnxruntime_lib, and --json
prints the data as JSON with snake_case keys.

` + exitCodes,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			service.UseRedisLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
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
	root.AddCommand(newVersionCmd())
	markUsage(root)
	return root
}

// commands holds the constructors of subcommands that register themselves
// from their own files (func init() { commands = append(commands, newXCmd) }),
// so each feature's command lives beside its code.
var commands []func() *cobra.Command

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of streamscore (model versions are --version on the model subcommands)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "streamscore %s (commit %s)\n", version, ops.BuildCommit(commit))
			return err
		},
	}
}

// discardLogger is the logger of commands that log nothing.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
