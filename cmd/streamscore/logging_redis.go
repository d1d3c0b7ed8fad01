package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// redisLogger routes go-redis's internal messages (dial failures during an
// outage) into our structured log instead of raw lines on stderr.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...), "component", "go-redis")
}

// useRedisLogger installs log as go-redis's process-wide logger. The root
// command installs a plain one for every subcommand; run replaces it with
// its configured logger.
func useRedisLogger(log *slog.Logger) {
	redis.SetLogger(redisLogger{log: log})
}
