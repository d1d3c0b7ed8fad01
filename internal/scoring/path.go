package scoring

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
	"github.com/streamscore/streamscore/tracing"
)

// Path is what run, serve and replay share between decoding and
// publishing. Build makes it; the caller closes it. Its fields are set once
// by Build and only read afterwards.
type Path struct {
	// Spec is the event schema, read as JSON rows when Parts.JSONRows.
	Spec *schemas.Spec
	// Features is nil when the schema declares no feature sets (or the
	// command asked for none); Policy applies when it fails.
	Features pipeline.FeatureStore
	Policy   pipeline.FeaturePolicy
	// Router scores with the line-up; nil unless Parts.Models.
	Router *model.Router
	// Compared are the models a replay compares (Parts.Comparing), each a
	// one-model Router, the first the champion.
	Compared  []replay.Model
	Observers []pipeline.Observer
	Shadow    pipeline.ShadowSink
	// Routes mounts the HTTP routes the models serve (POST /v1/score,
	// /admin/models); nil when none is enabled.
	Routes func(*http.ServeMux)
	// Tracer records the engine's batch spans; nil when tracing is off (or
	// the command asked for none).
	Tracer trace.Tracer

	closers []func()
}

// Parts says which parts of the scoring path a command needs.
type Parts struct {
	Features bool // the schema's feature sets, read from Redis
	Models   bool // the configured line-up, shadow topic and HTTP routes
	Drift    bool // drift monitoring, when drift.enabled
	Tracing  bool // OpenTelemetry batch spans, when tracing.enabled
	// Comparing opens the models of Compare ([NAME=]PATH each; none: the
	// configured model) side by side, for replay.
	Comparing bool
	Compare   []string
	// JSONRows reads rows as JSON whatever the schema's format (replay
	// from files, which hold JSON rows).
	JSONRows bool
	// Version is the binary's version, recorded on trace spans.
	Version string
}

// Build loads the schema and builds the parts of the scoring path that
// parts names: the tracer first (closed last, so it exports the spans of
// every batch, HTTP scoring's included), then in the order scoring uses
// them: feature store, models (whose HTTP scoring endpoint enriches through
// the same store and traces with the same tracer), drift. cfg is the
// validated configuration; Build does not keep it. On error it closes what
// it built. The caller closes the path.
func Build(ctx context.Context, cfg *config.Config, parts Parts, log *slog.Logger, reg prometheus.Registerer) (p *Path, err error) {
	spec, err := schemas.Load(cfg.Schema)
	if err != nil {
		return nil, err
	}
	// Avro and Protobuf schemas find their writer schemas by id.
	closeRegistry, err := registry.Attach(spec)
	if err != nil {
		return nil, err
	}
	if parts.JSONRows {
		spec = spec.AsJSON()
	}
	p = &Path{Spec: spec, Policy: pipeline.FeaturePolicy(cfg.Features.Policy), closers: []func(){closeRegistry}}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	if parts.Tracing {
		if err := p.openTracing(ctx, cfg, parts.Version, log); err != nil {
			return p, err
		}
	}
	if parts.Features {
		store, closeStore, err := OpenFeatures(ctx, cfg, spec, log, reg)
		if err != nil {
			return p, err
		}
		p.Features = store
		p.closers = append(p.closers, closeStore)
	}
	if parts.Models {
		if err := p.openModels(ctx, cfg, log, reg); err != nil {
			return p, err
		}
	}
	if parts.Comparing {
		if err := p.openCompared(ctx, cfg, parts.Compare); err != nil {
			return p, err
		}
	}
	if parts.Drift {
		obs, stop, err := OpenDrift(ctx, cfg, spec, log, reg)
		if err != nil {
			return p, err
		}
		p.closers = append(p.closers, stop)
		if obs != nil {
			p.Observers = append(p.Observers, obs)
		}
	}
	return p, nil
}

// Close stops what the path started, in reverse order: the tracer exports
// its last spans, drift flushes, the models' endpoints and watch stop, the
// shadow topic is written, models and Redis clients close. A second call
// does nothing.
func (p *Path) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// EngineConfig returns the engine's configuration for this path, with the
// batch, pipeline and tracing settings of cfg. Batches are decoded into a
// schemas.BufferPool: every stage of this path copies what it keeps past
// the batch (the feature cache its keys, the encoder the scored events),
// so a released batch's buffers serve the next one instead of the garbage
// collector.
func (p *Path) EngineConfig(cfg *config.Config) pipeline.Config {
	return pipeline.Config{
		Spec:          p.Spec,
		Mem:           schemas.NewBufferPool(0),
		Policy:        cfg.Batch.Policy(),
		InFlight:      cfg.Pipeline.InFlight,
		Publishes:     cfg.Pipeline.Publishes,
		DrainTimeout:  cfg.Pipeline.DrainTimeout,
		Observers:     p.Observers,
		Features:      p.Features,
		FeaturePolicy: p.Policy,
		Shadow:        p.Shadow,
		CopyHeaders:   cfg.Tracing.Headers,
		Tracer:        p.Tracer,
	}
}

// openTracing starts the OTLP exporter when tracing.enabled; its spans are
// flushed when the path closes.
func (p *Path) openTracing(ctx context.Context, cfg *config.Config, version string, log *slog.Logger) error {
	traces, err := tracing.New(ctx, cfg.Tracing, version, log)
	if err != nil {
		return err
	}
	p.Tracer = traces.Tracer
	p.closers = append(p.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := traces.Shutdown(sctx); err != nil {
			log.Warn("flushing trace spans", "err", err)
		}
	})
	return nil
}
