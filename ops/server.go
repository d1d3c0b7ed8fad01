package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streamscore/streamscore/console"
)

// Config configures Serve.
type Config struct {
	// Addr is the host:port to listen on (http.addr); port 0 picks one,
	// which Serve logs as http_addr.
	Addr string
	// Registry is what /metrics serves.
	Registry *prometheus.Registry
	// Ready reports readiness: nil, or the reason /readyz answers 503.
	// Nil means always ready.
	Ready func() error
	// Healthy, if set, makes /healthz answer 503 with the reason while it
	// returns an error; else /healthz always answers 200.
	Healthy func() error
	// Pprof adds Go's profiler under /debug/pprof/.
	Pprof bool
	// Routes add further endpoints (scoring, admin, console).
	Routes []func(*http.ServeMux)
}

// Serve listens on cfg.Addr and serves the operations endpoint on its own
// goroutine until the returned server is shut down. A listen failure is
// returned at once, naming http.addr.
func Serve(cfg Config, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("http.addr: listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: cfg.mux(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving http", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz, /readyz", "http_addr", ln.Addr().String())
	return srv, nil
}

func (cfg *Config) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if cfg.Healthy != nil {
			if err := cfg.Healthy(); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if cfg.Ready != nil {
			if err := cfg.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	for _, r := range cfg.Routes {
		if r != nil {
			r(mux)
		}
	}
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// StartConsole starts the live console's sampler (console.enabled) and
// returns its routes (/ and /api/status) and a stop function that ends the
// sampler and waits for it. The console reads g, so it shows what
// /metrics shows.
func StartConsole(ctx context.Context, cfg console.Config, g prometheus.Gatherer, opts console.Options) (func(*http.ServeMux), func(), error) {
	con, err := console.New(cfg, g, opts)
	if err != nil {
		return nil, nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { con.Run(bg) })
	return con.Routes, func() {
		cancel()
		wg.Wait()
	}, nil
}

// NewRegistry returns a metrics registry holding the Go runtime and
// process collectors and the constant streamscore_build_info gauge.
// commit empty means the VCS revision Go recorded, if any.
func NewRegistry(version, commit string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), BuildInfo(version, commit))
	return reg
}

// BuildInfo returns the constant streamscore_build_info gauge: 1, with the
// version, commit and Go version as labels.
func BuildInfo(version, commit string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "streamscore_build_info",
		Help:        "Always 1; the labels say which build of streamscore runs.",
		ConstLabels: prometheus.Labels{"version": version, "commit": BuildCommit(commit), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

// BuildCommit returns commit, else the VCS revision Go recorded, else
// "unknown".
func BuildCommit(commit string) string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}
