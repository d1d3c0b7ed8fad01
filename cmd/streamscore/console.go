package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/console"
)

// withConsole adds the live console (/ and /api/status, console.enabled) to
// routes and starts its sampler; the returned stop ends the sampler. The
// console reads reg, so it shows what /metrics shows.
func withConsole(ctx context.Context, cfg *config.Config, command string, reg *prometheus.Registry, ready func() error, routes func(*http.ServeMux), log *slog.Logger) (func(*http.ServeMux), func(), error) {
	if !cfg.Console.Enabled || cfg.HTTP.Addr == "" {
		return routes, func() {}, nil
	}
	var token []byte
	if cfg.Console.RequireToken && cfg.Model.Admin.Enabled {
		t, err := cfg.Model.Admin.Token()
		if err != nil {
			return nil, nil, err
		}
		token = t
	}
	con, err := console.New(cfg.Console, reg, console.Options{Command: command, Ready: ready, Token: token, Log: log.With("component", "console")})
	if err != nil {
		return nil, nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { con.Run(bg) })
	return func(mux *http.ServeMux) {
			if routes != nil {
				routes(mux)
			}
			con.Routes(mux)
		}, func() {
			cancel()
			wg.Wait()
		}, nil
}
