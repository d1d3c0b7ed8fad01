package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/serve"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// setupScoring opens the configured models and returns the engine's
// scorer, the HTTP routes it serves (POST /v1/score when model.serve is on,
// /admin/models when model.admin is on; nil for none), and a function that
// stops what it started and closes the models.
//
// The scorer serves a lineup (champion, optional canary and challenger)
// that admin calls or the registry watch swap between batches. It is also a
// pipeline.Observer, which publishes the challenger's scored events to
// model.challenger.shadow_topic when run adds it to the engine's observers.
func setupScoring(ctx context.Context, cfg *Config, spec *schemas.Spec, log *slog.Logger, reg prometheus.Registerer) (pipeline.Scorer, func(*http.ServeMux), func(), error) {
	mc := &cfg.Model
	if err := mc.validate(); err != nil {
		return nil, nil, nil, err
	}
	var (
		lineup  model.Lineup
		cleanup []func()
	)
	fail := func(err error) (pipeline.Scorer, func(*http.ServeMux), func(), error) {
		for _, m := range []*model.Model{lineup.Champion, lineup.Canary, lineup.Challenger} {
			if m != nil {
				m.Close()
			}
		}
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		return nil, nil, nil, err
	}

	champ, loc, err := openModel(ctx, *mc, mc.Path, spec)
	if err != nil {
		return fail(err)
	}
	lineup.Champion = champ
	// other opens the canary or challenger: a version of the champion's
	// registry model, or a path.
	other := func(key, version, path string) (*model.Model, error) {
		if version != "" {
			if !loc.InRegistry() {
				return nil, fmt.Errorf("model.%s.version: the champion is a plain file, so there is no registry to find version %s in: set model.%s.path, or point model.path at a registry", key, version, key)
			}
			path = loc.Registry.Dir(loc.Name, version)
		}
		m, _, err := openModel(ctx, *mc, path, spec)
		if err != nil {
			return nil, fmt.Errorf("model.%s: %w", key, err)
		}
		return m, nil
	}
	if mc.Canary.Version != "" || mc.Canary.Path != "" {
		if lineup.Canary, err = other("canary", mc.Canary.Version, mc.Canary.Path); err != nil {
			return fail(err)
		}
		lineup.CanaryFraction = mc.Canary.Fraction
	}
	if mc.Challenger.Version != "" || mc.Challenger.Path != "" {
		if lineup.Challenger, err = other("challenger", mc.Challenger.Version, mc.Challenger.Path); err != nil {
			return fail(err)
		}
	}
	router, err := model.NewRouter(ctx, lineup, model.RouterOptions{Tolerance: mc.Challenger.Tolerance}, log, reg)
	if err != nil {
		return fail(err)
	}
	lineup = model.Lineup{} // the router owns the models now
	cleanup = append(cleanup, func() {
		if err := router.Close(); err != nil {
			log.Warn("closing models", "err", err)
		}
	})
	sc := &routerScorer{r: router, as: scoreNames(spec)}

	if topic := mc.Challenger.ShadowTopic; topic != "" {
		transport, err := cfg.Kafka.transport()
		if err != nil {
			return fail(err)
		}
		pc := producers.Config{Brokers: cfg.Brokers, Topic: topic, BatchTimeout: cfg.Producer.BatchTimeout, BatchSize: cfg.Producer.BatchSize, BatchBytes: cfg.Producer.BatchBytes, Compression: cfg.Producer.Compression, WriteTimeout: cfg.Producer.WriteTimeout, Transport: transport}
		if err := pc.Validate(); err != nil {
			return fail(fmt.Errorf("model.challenger.shadow_topic: %w", err))
		}
		sc.shadow = newShadowPublisher(topic, pc.NewKafkaWriter(), spec, log, reg)
		cleanup = append(cleanup, sc.shadow.close)
	}

	var deployer *model.Deployer
	if loc.InRegistry() {
		want := wantBinding(spec)
		deployer, err = model.NewDeployer(model.DeployerConfig{
			Registry: loc.Registry, Name: loc.Name,
			Load: model.LoadOptions{Config: mc.sessionConfig(), Want: &want, WarmupRows: mc.WarmupRows},
		}, router, log, reg)
		if err != nil {
			return fail(err)
		}
	}

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	cleanup = append(cleanup, func() {
		stop()
		wg.Wait()
	})
	if mc.Watch > 0 {
		if deployer == nil {
			return fail(errors.New("model.watch: the model was loaded from a plain file: point model.path at a registry folder (models/<name>) to watch it"))
		}
		wg.Go(func() { deployer.Watch(bg, mc.Watch) })
		log.Info("watching the model registry", "registry", loc.Registry.Root, "model", loc.Name, "every", mc.Watch,
			"active_file", filepath.Join(loc.Registry.Root, loc.Name, model.ActiveFile))
	}

	var mounts []func(*http.ServeMux)
	if mc.Serve.Enabled {
		srv, err := serve.New(serve.Config{
			Spec: spec, MaxRows: mc.Serve.MaxRows, MaxWait: mc.Serve.MaxWait,
			MaxBodyBytes: mc.Serve.MaxBodyBytes, MaxEvents: mc.Serve.MaxEvents, Workers: mc.Serve.Workers,
		}, sc, log, reg)
		if err != nil {
			return fail(err)
		}
		wg.Go(func() { srv.Run(bg) })
		mounts = append(mounts, func(mux *http.ServeMux) { mux.Handle("POST /v1/score", srv) })
	}
	if mc.Admin.Enabled {
		tok, err := mc.Admin.token()
		if err != nil {
			return fail(err)
		}
		api := &adminAPI{router: router, deployer: deployer, name: champ.Name(), tokenSum: sha256.Sum256(tok), log: log.With("component", "admin")}
		mounts = append(mounts, api.routes)
	}
	var routes func(*http.ServeMux)
	if len(mounts) > 0 {
		routes = func(mux *http.ServeMux) {
			for _, m := range mounts {
				m(mux)
			}
		}
	}

	l := router.Lineup()
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

	return sc, routes, func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}, nil
}
