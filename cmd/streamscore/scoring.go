package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/pipeline/serve"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
	"github.com/streamscore/streamscore/tracing"
)

// scoringPath is what run, serve and replay share between decoding and
// publishing: the schema, the online feature store and its policy, the
// model line-up, the drift observer, the challenger's shadow sink, the
// HTTP routes the models serve and the batch tracer. buildScoringPath is the one place that
// builds it, so a capability added to scoring reaches every command.
type scoringPath struct {
	spec *schemas.Spec
	// features is nil when the schema declares no feature sets (or the
	// command asked for none); policy applies when it fails.
	features pipeline.FeatureStore
	policy   pipeline.FeaturePolicy
	// router scores with the line-up; nil unless parts.models.
	router *model.Router
	// compared are the models a replay compares (parts.comparing), each
	// a one-model Router, the first the champion.
	compared  []replay.Model
	observers []pipeline.Observer
	shadow    pipeline.ShadowSink
	routes    func(*http.ServeMux)
	// tracer records the engine's batch spans; nil when tracing is off
	// (or the command asked for none).
	tracer trace.Tracer

	closers []func()
}

// pathParts says which parts of the scoring path a command needs.
type pathParts struct {
	features bool // the schema's feature sets, read from Redis
	models   bool // the configured line-up, shadow topic and HTTP routes
	drift    bool // drift monitoring, when drift.enabled
	tracing  bool // OpenTelemetry batch spans, when tracing.enabled
	// comparing opens the models of compare ([NAME=]PATH each; none: the
	// configured model) side by side, for replay.
	comparing bool
	compare   []string
	// jsonRows reads rows as JSON whatever the schema's format (replay
	// from files, which hold JSON rows).
	jsonRows bool
}

// allParts is what run and serve build.
var allParts = pathParts{features: true, models: true, drift: true, tracing: true}

// buildScoringPath loads the schema and builds the parts of the scoring
// path that parts names: the tracer first (closed last, so it exports the
// spans of every batch, HTTP scoring's included), then in the order scoring
// uses them: feature store, models (whose HTTP scoring endpoint enriches
// through the same store and traces with the same tracer), drift. On error
// it closes what it built. The caller closes the path.
func buildScoringPath(ctx context.Context, cfg *config.Config, parts pathParts, log *slog.Logger, reg prometheus.Registerer) (p *scoringPath, err error) {
	spec, err := schemas.Load(cfg.Schema)
	if err != nil {
		return nil, err
	}
	// Avro and Protobuf schemas find their writer schemas by id.
	closeRegistry, err := registry.Attach(spec)
	if err != nil {
		return nil, err
	}
	if parts.jsonRows {
		spec = spec.AsJSON()
	}
	p = &scoringPath{spec: spec, policy: pipeline.FeaturePolicy(cfg.Features.Policy), closers: []func(){closeRegistry}}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	if parts.tracing {
		if err := p.openTracing(ctx, cfg, log); err != nil {
			return p, err
		}
	}
	if parts.features {
		store, closeStore, err := setupFeatures(ctx, cfg, spec, log, reg)
		if err != nil {
			return p, err
		}
		p.features = store
		p.closers = append(p.closers, closeStore)
	}
	if parts.models {
		if err := p.openModels(ctx, cfg, log, reg); err != nil {
			return p, err
		}
	}
	if parts.comparing {
		if err := p.openCompared(ctx, cfg, parts.compare); err != nil {
			return p, err
		}
	}
	if parts.drift {
		obs, stop, err := setupDrift(ctx, cfg, spec, log, reg)
		if err != nil {
			return p, err
		}
		p.closers = append(p.closers, stop)
		if obs != nil {
			p.observers = append(p.observers, obs)
		}
	}
	return p, nil
}

// Close stops what the path started, in reverse order: the tracer exports
// its last spans, drift flushes, the models' endpoints and watch stop, the
// shadow topic is written, models and Redis clients close.
func (p *scoringPath) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// engineConfig returns the engine's configuration for this path.
func (p *scoringPath) engineConfig(cfg *config.Config) pipeline.Config {
	return pipeline.Config{
		Spec:          p.spec,
		Policy:        cfg.Batch.Policy(),
		InFlight:      cfg.Pipeline.InFlight,
		Publishes:     cfg.Pipeline.Publishes,
		DrainTimeout:  cfg.Pipeline.DrainTimeout,
		Observers:     p.observers,
		Features:      p.features,
		FeaturePolicy: p.policy,
		Shadow:        p.shadow,
		CopyHeaders:   cfg.Tracing.Headers,
		Tracer:        p.tracer,
	}
}

// openTracing starts the OTLP exporter when tracing.enabled; its spans are
// flushed when the path closes.
func (p *scoringPath) openTracing(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	traces, err := tracing.New(ctx, cfg.Tracing, version, log)
	if err != nil {
		return err
	}
	p.tracer = traces.Tracer
	p.closers = append(p.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := traces.Shutdown(sctx); err != nil {
			log.Warn("flushing trace spans", "err", err)
		}
	})
	return nil
}

// openModels opens the line-up (champion, optional canary and challenger)
// into a Router, and adds the shadow sink, the registry watch and the HTTP
// routes the model configuration asks for.
func (p *scoringPath) openModels(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) error {
	mc := &cfg.Model
	router, loc, err := model.OpenLineup(ctx, mc.Config, mc.LineupConfig, p.spec, log, reg)
	if err != nil {
		return err
	}
	p.router = router
	p.closers = append(p.closers, func() {
		if err := router.Close(); err != nil {
			log.Warn("closing models", "err", err)
		}
	})
	if topic := mc.Challenger.ShadowTopic; topic != "" {
		name := router.Name()
		if c := router.Lineup().Challenger; c != nil {
			name = c.Name()
		}
		// The shadow series carry the challenger's model name, like the
		// router's per-model series.
		shadow, err := openShadow(cfg, topic, log, prometheus.WrapRegistererWith(prometheus.Labels{"model": name}, reg))
		if err != nil {
			return err
		}
		p.shadow = shadow
		p.closers = append(p.closers, func() { shadow.Close() })
	}
	var deployer *model.Deployer
	if loc.InRegistry() {
		want := model.BindingFor(p.spec)
		deployer, err = model.NewDeployer(model.DeployerConfig{
			Registry: loc.Registry, Name: loc.Name,
			Load: model.LoadOptions{Config: mc.Config, Want: &want, WarmupRows: mc.WarmupRows},
		}, router, log, reg)
		if err != nil {
			return err
		}
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	p.closers = append(p.closers, func() {
		stop()
		wg.Wait()
	})
	if mc.Watch > 0 {
		if deployer == nil {
			return errors.New("model.watch: the model was loaded from a plain file: point model.path at a registry folder (models/<name>) to watch it")
		}
		wg.Go(func() { deployer.Watch(bg, mc.Watch) })
		log.Info("watching the model registry", "registry", loc.Registry.Root, "model", loc.Name, "every", mc.Watch,
			"active_file", filepath.Join(loc.Registry.Root, loc.Name, model.ActiveFile))
	}
	if err := p.mountRoutes(bg, &wg, mc, deployer, log, reg); err != nil {
		return err
	}
	logLineup(log, router.Lineup(), mc)
	return nil
}

// mountRoutes adds POST /v1/score (model.serve), scoring through the same
// feature store as the engine, and /admin/models (model.admin).
func (p *scoringPath) mountRoutes(bg context.Context, wg *sync.WaitGroup, mc *config.ModelConfig, deployer *model.Deployer, log *slog.Logger, reg prometheus.Registerer) error {
	var mounts []func(*http.ServeMux)
	if mc.Serve.Enabled {
		srv, err := serve.New(serve.Config{
			// HTTP requests carry JSON events whatever the topic's format.
			Spec: p.spec.AsJSON(), MaxRows: mc.Serve.MaxRows, MaxWait: mc.Serve.MaxWait,
			MaxBodyBytes: mc.Serve.MaxBodyBytes, MaxEvents: mc.Serve.MaxEvents, Workers: mc.Serve.Workers,
			Features: p.features, Tracer: p.tracer,
		}, p.router, log, reg)
		if err != nil {
			return err
		}
		wg.Go(func() { srv.Run(bg) })
		mounts = append(mounts, func(mux *http.ServeMux) { mux.Handle("POST /v1/score", srv) })
	}
	if mc.Admin.Enabled {
		tok, err := mc.Admin.Token()
		if err != nil {
			return err
		}
		mounts = append(mounts, model.NewAdmin(p.router, deployer, tok, log.With("component", "admin")).Routes)
	}
	if len(mounts) > 0 {
		p.routes = func(mux *http.ServeMux) {
			for _, m := range mounts {
				m(mux)
			}
		}
	}
	return nil
}

// openCompared opens the models a replay compares, each checked against
// the input the replay feeds it (event features and feature-set features
// side by side), with the configured model's settings.
func (p *scoringPath) openCompared(ctx context.Context, cfg *config.Config, flags []string) error {
	checkSpec, err := replay.PrepareSpec(p.spec, "", replay.FeaturesEvent)
	if err != nil {
		return err
	}
	if err := model.Init(cfg.OnnxRuntimeLib); err != nil {
		return err
	}
	refs, err := replay.ResolveModels(flags, cfg.Model.Path, cfg.Model.Name, cfg.Model.Version)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		mc := cfg.Model.Config
		mc.Path, mc.Name, mc.Version = ref.Path, ref.Name, ref.Version
		sc, err := model.OpenScorerOwnOutputs(ctx, mc, cfg.Model.WarmupRows, checkSpec)
		if err != nil {
			return fmt.Errorf("--model %s: %w", ref.Flag, err)
		}
		p.closers = append(p.closers, func() { sc.Close() })
		p.compared = append(p.compared, replay.Model{Name: ref.Name, Scorer: sc})
	}
	return nil
}

// openShadow returns the sink of the challenger's scored events.
func openShadow(cfg *config.Config, topic string, log *slog.Logger, reg prometheus.Registerer) (*producers.Shadow, error) {
	transport, err := cfg.Kafka.Transport()
	if err != nil {
		return nil, err
	}
	pc := cfg.ProducerConfig()
	pc.Topic, pc.DLQTopic, pc.Transport = topic, "", transport
	if err := pc.Validate(); err != nil {
		return nil, fmt.Errorf("model.challenger.shadow_topic: %w", err)
	}
	return producers.NewShadow(topic, pc.NewKafkaWriter(), log, reg)
}

func logLineup(log *slog.Logger, l model.Lineup, mc *config.ModelConfig) {
	attrs := []any{"model", l.Champion.Name(), "version", l.Champion.Version(), "path", l.Champion.Path()}
	if l.Canary != nil {
		attrs = append(attrs, "canary_version", l.Canary.Version(), "canary_fraction", l.CanaryFraction)
	}
	if l.Challenger != nil {
		attrs = append(attrs, "challenger_version", l.Challenger.Version(), "shadow_topic", mc.Challenger.ShadowTopic)
	}
	if mc.Serve.Enabled {
		attrs = append(attrs, "http_scoring", "POST /v1/score")
	}
	if mc.Admin.Enabled {
		attrs = append(attrs, "admin", "/admin/models")
	}
	log.Info("models ready", attrs...)
}
