package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"
	"golang.org/x/term"
)

// NewLogger returns a logger writing to w at level (debug, info, warn,
// error) in format: json, text, or auto (text on a terminal, else json).
// Durations are written as text ("1.5s"), in both formats. An unknown level
// or format is an error naming log.level or log.format.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: durationsAsText}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format: %q is not one of auto, json, text", format)
}

// durationsAsText writes every time.Duration attribute as its string form
// ("1.5s", "250ms") instead of slog's JSON default, an integer count of
// nanoseconds that readers of a log cannot tell from any other number. It is
// a slog.HandlerOptions.ReplaceAttr function.
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// redisLogger routes go-redis's internal messages (dial failures during an
// outage) into our structured log instead of raw lines on stderr.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...), "component", "go-redis")
}

// UseRedisLogger installs log as go-redis's process-wide logger. The root
// command installs a plain one for every subcommand; run replaces it with
// its configured logger.
func UseRedisLogger(log *slog.Logger) {
	redis.SetLogger(redisLogger{log: log})
}
