//go:build integration

package servicetest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRedisRestart checks that a persisting private Redis keeps its data
// across Stop and Start at the same address, and a plain one does not.
func TestRedisRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		persist bool
		want    string
	}{
		{"persist", true, "v"},
		{"plain", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := StartRedis(t, RedisOptions{Persist: tc.persist})
			c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
			defer c.Close()
			ctx := context.Background()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			r.Stop(t)
			if err := c.Ping(ctx).Err(); err == nil {
				t.Fatal("the server answers after Stop")
			}
			r.Start(t)
			got, err := c.Get(ctx, "k").Result()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("after a restart k = %q, want %q", got, tc.want)
			}
		})
	}
}
