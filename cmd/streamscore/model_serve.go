package main

import (
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/ops"
	"github.com/streamscore/streamscore/pipeline/model"
)

func init() { commands = append(commands, newServeCmd) }

func newServeCmd() *cobra.Command {
	var (
		configPath string
		o          overrides
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Score events over HTTP (POST /v1/score), without Kafka",
		Long: `serve loads the configured models (model.path, with model.canary,
model.challenger, model.admin and model.watch as for run) and answers
POST /v1/score on http.addr, beside /metrics, /healthz and /readyz.

A request is one JSON event or an array of them; the answer is the scored
event, or an array of them in order (an event that cannot be scored is
{"index": i, "error": {"reason", "field", "detail"}}). Requests from all
clients share micro-batches: a batch closes at model.serve.max_rows events or
model.serve.max_wait after its first request. Scored events name topic
"http", partition -1 and, as offset, the event's index in its request.

With tracing.enabled, each request is a server span (the child of the
request's traceparent header, when it has one) and each batch a
streamscore.batch span linked to its requests' spans, with decode, enrich,
infer and encode spans under it.

SIGINT or SIGTERM stops: requests in flight are answered, then it exits.`,
		Example: `  streamscore serve --config streamscore.yaml --http-addr 127.0.0.1:8080
  curl -s localhost:8080/v1/score -d '{"event_id":"e1","user_id":"u1","f00":0.1,...}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath, &o)
			if err != nil {
				return err
			}
			if cfg.HTTP.Addr == "" {
				return errors.New("http.addr: serve needs an address to listen on (or pass --http-addr)")
			}
			cfg.Model.Serve.Enabled = true
			log, err := service.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			if err != nil {
				return err
			}
			ctx, stop := service.SignalContext(log)
			defer stop()
			if err := model.Init(cfg.OnnxRuntimeLib); err != nil {
				return err
			}
			reg := ops.NewRegistry(version, commit)
			path, err := scoring.Build(ctx, &cfg, scoring.Parts{Features: true, Models: true, Tracing: true, Version: version}, log, reg)
			if err != nil {
				return err
			}
			defer path.Close()
			stopOps, err := service.StartOps(ctx, &cfg, service.OpsEndpoint{Command: "serve", Routes: path.Routes}, reg, log)
			if err != nil {
				return err
			}
			<-ctx.Done()
			log.Info("stopping: answering requests in flight")
			return stopOps(10 * time.Second)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "configuration file (streamscore.yaml)")
	o.registerScoring(cmd)
	return cmd
}
