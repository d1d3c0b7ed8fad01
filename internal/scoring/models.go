package scoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/pipeline/serve"
	"github.com/streamscore/streamscore/producers"
)

// openModels opens the line-up (champion, optional canary and challenger)
// into a Router, and adds the shadow sink, the registry watch and the HTTP
// routes the model configuration asks for.
func (p *Path) openModels(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) error {
	mc := &cfg.Model
	router, loc, err := model.OpenLineup(ctx, mc.Config, mc.LineupConfig, p.Spec, log, reg)
	if err != nil {
		return err
	}
	p.Router = router
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
		p.Shadow = shadow
		p.closers = append(p.closers, func() { shadow.Close() })
	}
	var deployer *model.Deployer
	if loc.InRegistry() {
		want := model.BindingFor(p.Spec)
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
func (p *Path) mountRoutes(bg context.Context, wg *sync.WaitGroup, mc *config.ModelConfig, deployer *model.Deployer, log *slog.Logger, reg prometheus.Registerer) error {
	var mounts []func(*http.ServeMux)
	if mc.Serve.Enabled {
		srv, err := serve.New(serve.Config{
			// HTTP requests carry JSON events whatever the topic's format.
			Spec: p.Spec.AsJSON(), MaxRows: mc.Serve.MaxRows, MaxWait: mc.Serve.MaxWait,
			MaxBodyBytes: mc.Serve.MaxBodyBytes, MaxEvents: mc.Serve.MaxEvents, Workers: mc.Serve.Workers,
			Features: p.Features, Tracer: p.Tracer,
		}, p.Router, log, reg)
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
		mounts = append(mounts, model.NewAdmin(p.Router, deployer, tok, log.With("component", "admin")).Routes)
	}
	if len(mounts) > 0 {
		p.Routes = func(mux *http.ServeMux) {
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
func (p *Path) openCompared(ctx context.Context, cfg *config.Config, flags []string) error {
	checkSpec, err := replay.PrepareSpec(p.Spec, "", replay.FeaturesEvent)
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
		p.Compared = append(p.Compared, replay.Model{Name: ref.Name, Scorer: sc})
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

// logLineup logs the models that score, and the routes they serve.
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
