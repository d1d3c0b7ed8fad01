package tracing

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Config configures trace propagation and export (streamscore.yaml's
// tracing section).
type Config struct {
	// Headers names input record headers copied onto scored events beside
	// traceparent and tracestate, which are always copied. Dead letters
	// keep all of the input's headers.
	Headers []string `yaml:"headers"`
	// Enabled exports one span per batch and stage over OTLP. Default false:
	// nothing is recorded and the hot path does no tracing work.
	Enabled bool `yaml:"enabled"`
	// Endpoint is the OTLP receiver, host:port. Default 127.0.0.1:4317
	// (gRPC) or 127.0.0.1:4318 (HTTP).
	Endpoint string `yaml:"endpoint"`
	// Protocol is grpc (default) or http (OTLP/HTTP protobuf).
	Protocol string `yaml:"protocol"`
	// Insecure sends without TLS. Default true (a collector on localhost).
	Insecure bool `yaml:"insecure"`
	// Sampling is the share of batches traced, 0..1, unless an input event
	// of the batch carries a sampled traceparent, which always traces it.
	// Default 1.
	Sampling float64 `yaml:"sampling"`
	// ServiceName is the service.name resource attribute. Default
	// "streamscore".
	ServiceName string `yaml:"service_name"`
}

// Default returns the default configuration: propagate trace headers, export
// nothing.
func Default() Config {
	return Config{Protocol: "grpc", Insecure: true, Sampling: 1, ServiceName: "streamscore"}
}

// Validate reports a setting that cannot work, naming its key (relative to
// the tracing section: config.InSection prefixes it) and the fix.
func (c *Config) Validate() error {
	var errs []error
	for _, h := range c.Headers {
		if strings.TrimSpace(h) == "" {
			errs = append(errs, errors.New("headers: an empty header name; remove it"))
		}
	}
	switch c.Protocol {
	case "grpc", "http":
	default:
		errs = append(errs, fmt.Errorf("protocol: %q is not grpc or http", c.Protocol))
	}
	if c.Sampling < 0 || c.Sampling > 1 {
		errs = append(errs, fmt.Errorf("sampling: %v is outside 0..1; use 1 to trace every batch, 0.01 for one in a hundred", c.Sampling))
	}
	if c.Endpoint != "" {
		if _, _, err := net.SplitHostPort(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("endpoint: %q is not host:port (e.g. 127.0.0.1:4317)", c.Endpoint))
		}
	}
	if c.Enabled && c.ServiceName == "" {
		errs = append(errs, errors.New("service_name: empty; use e.g. streamscore"))
	}
	return errors.Join(errs...)
}

// endpoint returns Endpoint or the protocol's default.
func (c *Config) endpoint() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	if c.Protocol == "http" {
		return "127.0.0.1:4318"
	}
	return "127.0.0.1:4317"
}
