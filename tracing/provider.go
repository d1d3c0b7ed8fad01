package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of streamscore's spans.
const ScopeName = "github.com/streamscore/streamscore"

// Provider exports the spans of one process. Tracer is nil when tracing is
// off, which is what the engine takes for "no tracing".
type Provider struct {
	Tracer trace.Tracer
	tp     *sdktrace.TracerProvider
}

// New returns a Provider for cfg. With cfg.Enabled false it returns one
// whose Tracer is nil and which exports nothing. Otherwise spans go over
// OTLP (gRPC or HTTP) to cfg's endpoint in batches, in the background;
// the exporter connects lazily, so a collector that is down costs dropped
// spans, never a stalled batch. version becomes service.version.
func New(ctx context.Context, cfg Config, version string, log *slog.Logger) (*Provider, error) {
	if !cfg.Enabled {
		return &Provider{}, nil
	}
	var (
		exp *otlptrace.Exporter
		err error
	)
	switch cfg.Protocol {
	case "http":
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(cfg.endpoint()), otlptracehttp.WithTimeout(5 * time.Second)}
		if cfg.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	default:
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.endpoint()), otlptracegrpc.WithTimeout(5 * time.Second)}
		if cfg.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing.endpoint: starting the OTLP exporter for %s: %w", cfg.endpoint(), err)
	}
	res := resource.NewWithAttributes("",
		attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(Sampler(cfg.Sampling)),
	)
	if log != nil {
		log.Info("tracing batches over OTLP", "endpoint", cfg.endpoint(), "protocol", cfg.Protocol, "sampling", cfg.Sampling)
	}
	return &Provider{Tracer: tp.Tracer(ScopeName), tp: tp}, nil
}

// Shutdown exports what is buffered and stops the exporter, waiting until
// ctx is done at most.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.tp == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}

// Sampler traces a share ratio of root spans, by trace id, and always
// traces a span linked to a sampled remote span context (an input event
// whose traceparent says sampled), so a request traced upstream is never
// lost at the scorer.
func Sampler(ratio float64) sdktrace.Sampler {
	return linkedSampler{ratio: sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))}
}

type linkedSampler struct{ ratio sdktrace.Sampler }

func (s linkedSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	for _, l := range p.Links {
		if l.SpanContext.IsSampled() {
			return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
		}
	}
	return s.ratio.ShouldSample(p)
}

func (s linkedSampler) Description() string {
	return "LinkedOr{" + s.ratio.Description() + "}"
}
