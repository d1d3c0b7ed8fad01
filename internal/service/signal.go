package service

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// SignalContext returns a context cancelled by the first SIGINT or SIGTERM;
// the second one exits the process at once with status 130. The returned
// function stops listening and cancels the context.
func SignalContext(log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s, ok := <-ch
		if !ok {
			return
		}
		log.Info("signal received: draining (send it again to stop at once)", "signal", s.String())
		cancel()
		if s, ok = <-ch; ok {
			log.Warn("second signal: stopping at once; uncommitted events will be scored again after a restart", "signal", s.String())
			os.Exit(130)
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel()
	}
}
