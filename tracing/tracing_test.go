package tracing

import (
	"context"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{name: "default", edit: func(*Config) {}},
		{name: "enabled with an endpoint", edit: func(c *Config) { c.Enabled, c.Endpoint = true, "127.0.0.1:4317" }},
		{name: "bad protocol", edit: func(c *Config) { c.Protocol = "udp" }, want: "protocol:"},
		{name: "sampling above 1", edit: func(c *Config) { c.Sampling = 2 }, want: "sampling:"},
		{name: "endpoint without port", edit: func(c *Config) { c.Endpoint = "collector" }, want: "endpoint:"},
		{name: "empty header", edit: func(c *Config) { c.Headers = []string{"x-id", " "} }, want: "headers:"},
		{name: "no service name", edit: func(c *Config) { c.Enabled, c.ServiceName = true, "" }, want: "service_name:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestSampler(t *testing.T) {
	sampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true})
	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{2}, SpanID: trace.SpanID{2}, Remote: true})
	cases := []struct {
		name  string
		ratio float64
		links []trace.Link
		want  sdktrace.SamplingDecision
	}{
		{name: "ratio 0, no links", ratio: 0, want: sdktrace.Drop},
		{name: "ratio 0, an unsampled link", ratio: 0, links: []trace.Link{{SpanContext: unsampled}}, want: sdktrace.Drop},
		{name: "ratio 0, a sampled link", ratio: 0, links: []trace.Link{{SpanContext: unsampled}, {SpanContext: sampled}}, want: sdktrace.RecordAndSample},
		{name: "ratio 1", ratio: 1, want: sdktrace.RecordAndSample},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Sampler(tc.ratio).ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: trace.TraceID{9, 9, 9}, Name: "b", Links: tc.links})
			if got.Decision != tc.want {
				t.Errorf("decision = %v, want %v", got.Decision, tc.want)
			}
		})
	}
}

func TestNewOff(t *testing.T) {
	p, err := New(t.Context(), Default(), "dev", nil)
	if err != nil || p.Tracer != nil {
		t.Fatalf("New(off) = %+v, %v; want a nil Tracer", p, err)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestNewOnDoesNotNeedTheCollector(t *testing.T) {
	for _, proto := range []string{"grpc", "http"} {
		t.Run(proto, func(t *testing.T) {
			cfg := Default()
			cfg.Enabled, cfg.Protocol, cfg.Endpoint = true, proto, "127.0.0.1:1" // nothing listens there
			p, err := New(t.Context(), cfg, "dev", nil)
			if err != nil || p.Tracer == nil {
				t.Fatalf("New = %+v, %v", p, err)
			}
			_, sp := p.Tracer.Start(t.Context(), "x")
			sp.End()
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond) // : export fails, shutdown returns
			defer cancel()
			p.Shutdown(ctx)
		})
	}
}
