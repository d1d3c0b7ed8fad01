package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/console"
	"github.com/streamscore/streamscore/ops"
)

// opsEndpoint is what run and serve put on http.addr.
type opsEndpoint struct {
	command        string // "run" or "serve", shown by the console
	ready, healthy func() error
	pprof          bool
	routes         func(*http.ServeMux)
}

// startOps serves the operations endpoint on cfg.HTTP.Addr (nothing when it
// is empty), with the live console when console.enabled. The returned stop
// shuts the server down within timeout and ends the console's sampler.
func startOps(ctx context.Context, cfg *config.Config, e opsEndpoint, reg *prometheus.Registry, log *slog.Logger) (func(timeout time.Duration) error, error) {
	if cfg.HTTP.Addr == "" {
		return func(time.Duration) error { return nil }, nil
	}
	oc := ops.Config{Addr: cfg.HTTP.Addr, Registry: reg, Ready: e.ready, Healthy: e.healthy, Pprof: e.pprof, Routes: []func(*http.ServeMux){e.routes}}
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
		routes, stop, err := ops.StartConsole(ctx, cfg.Console, reg, console.Options{Command: e.command, Ready: e.ready, Token: token, Log: log.With("component", "console")})
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
