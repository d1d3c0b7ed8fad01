package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/demo"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/producers"
)

func newDemoCmd() *cobra.Command {
	var dc demo.Config
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole produce -> score -> consume story against a broker",
		Long: `demo creates fresh topics, writes a backlog of sample events (with a few
malformed ones), starts the scorer, measures how fast it drains the backlog,
then produces live events at a fixed rate and measures event-to-score
latency, consumes the scored and dead-letter topics, and prints a sample
and a summary. make demo runs it against a local broker it starts.`,
		Example: `  streamscore demo --brokers 127.0.0.1:9092
  streamscore demo --backlog 100000 --live 20000 --rate 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			return demo.Run(ctx, cmd.OutOrStdout(), dc, demoScorer, func(ctx context.Context, brokers []string, topic, path, keyField string, rate float64) error {
				_, err := produceFile(ctx, service.KafkaConn{Brokers: brokers}, path, producers.FeedConfig{Topic: topic, KeyField: keyField, Rate: rate}, false, false)
				return err
			})
		},
	}
	f := cmd.Flags()
	brokersFlag(cmd, &dc.Brokers)
	f.IntVar(&dc.Backlog, "backlog", 20000, "events produced before the scorer starts (throughput)")
	f.IntVar(&dc.Live, "live", 5000, "events produced at --rate while the scorer runs (latency)")
	f.Float64Var(&dc.Rate, "rate", 2500, "live events per second")
	f.Float64Var(&dc.BadRatio, "bad-ratio", 0.01, "share of malformed backlog events")
	f.StringVar(&dc.Model, "model", "testdata/models/mlp.onnx", "ONNX model")
	f.StringVar(&dc.Schema, "schema", "testdata/mlp.schema.yaml", "event schema bound to the model")
	f.StringVar(&dc.Prefix, "topic-prefix", "demo", "prefix of the topics the demo creates")
	f.BoolVarP(&dc.Verbose, "verbose", "v", false, "show the scorer's logs")
	f.StringVar(&dc.OnnxLib, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (default $ONNXRUNTIME_LIB)")
	return cmd
}

// demoScorer runs the scorer as run does, telling the demo when it started.
func demoScorer(ctx context.Context, cfg config.Config, log *slog.Logger, started func(*pipeline.Engine)) error {
	return runScorer(ctx, cfg, log, &runHooks{started: started})
}
