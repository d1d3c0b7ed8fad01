package features

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/schemas"
)

// Open returns the feature store for spec on client (reaching addrs) and
// checks that Redis answers. Redis being unreachable is not an error (the
// policy covers it, and fail_closed waits for it); refused credentials are.
// The caller closes client.
func Open(ctx context.Context, client redis.UniversalClient, addrs []string, spec *schemas.Spec, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	store, err := New(client, spec, cfg, log, reg)
	if err != nil {
		return nil, err
	}
	policy := cfg.WithDefaults().Policy
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		if IsAuthError(err) {
			return nil, fmt.Errorf("redis: connecting to %s: %w (check redis.username, redis.password or redis.password_file)", strings.Join(addrs, ","), err)
		}
		log.Warn("Redis does not answer at start-up; the feature policy applies until it does", "redis", addrs, "policy", policy, "err", err)
	}
	log.Info("online features", "sets", SetNames(spec), "redis", addrs, "policy", policy)
	return store, nil
}

// IsAuthError reports whether Redis refused the credentials.
func IsAuthError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"WRONGPASS", "NOAUTH", "NOPERM", "invalid password", "invalid username-password"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
