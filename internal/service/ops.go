package service

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/console"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/ops"
)

// OpsEndpoint is what run and serve put on http.addr.
type OpsEndpoint struct {
	Command        string // "run" or "serve", shown by the console
	Ready, Healthy func() error
	Pprof          bool
	Routes         func(*http.ServeMux)
}

// StartOps serves the operations endpoint on cfg.HTTP.Addr (nothing when it
// is empty), with the live console when console.enabled. The returned stop
// shuts the server down within timeout and ends the console's sampler.
func StartOps(ctx context.Context, cfg *config.Config, e OpsEndpoint, reg *prometheus.Registry, log *slog.Logger) (func(timeout time.Duration) error, error) {
	if cfg.HTTP.Addr == "" {
		return func(time.Duration) error { return nil }, nil
	}
	oc := ops.Config{Addr: cfg.HTTP.Addr, Registry: reg, Ready: e.Ready, Healthy: e.Healthy, Pprof: e.Pprof, Routes: []func(*http.ServeMux){e.Routes}}
	stopConsole := func() {}
	if cfg.Console.Enabled {
		var token []byte
		if cfg.Console.RequireToken && cfg.Model.Admin.Enabled {
			t, err := cfg.Model.Admin.Token()
			if err != nil {
				return nil, err
			}
			token = t
		}
		routes, stop, err := ops.StartConsole(ctx, cfg.Console, reg, console.Options{Command: e.Command, Ready: e.Ready, Token: token, Log: log.With("component", "console")})
		if err != nil {
			return nil, err
		}
		oc.Routes, stopConsole = append(oc.Routes, routes), stop
	}
	srv, err := ops.Serve(oc, log)
	if err != nil {
		stopConsole()
		return nil, err
	}
	return func(timeout time.Duration) error {
		defer stopConsole()
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return srv.Shutdown(sctx)
	}, nil
}

// HealthGate answers readiness and liveness for the operations endpoint
// before and after the Kafka health check exists: not ready (with the
// reason) and alive until Set, then whatever the check says. It is safe for
// concurrent use.
type HealthGate struct {
	h atomic.Pointer[consumers.Health]
}

// Set hands the gate the running health check.
func (g *HealthGate) Set(h *consumers.Health) { g.h.Store(h) }

// Ready is nil once the health check is set and says the scorer is ready.
func (g *HealthGate) Ready() error {
	h := g.h.Load()
	if h == nil {
		return errors.New("starting: waiting for a Kafka broker to answer (kafka.startup_timeout)")
	}
	return h.Ready()
}

// Healthy is nil before the health check is set, then what it says.
func (g *HealthGate) Healthy() error {
	if h := g.h.Load(); h != nil {
		return h.Healthy()
	}
	return nil
}
