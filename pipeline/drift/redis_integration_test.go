//go:build integration

package drift

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/internal/servicetest"
)

func TestRedisStoreConformance(t *testing.T) {
	addr := servicetest.RedisAddr(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer: %v", addr, err)
	}
	ns := Namespace{Prefix: fmt.Sprintf("it-drift-%d", time.Now().UnixNano()), Model: "m{x}", Version: "1", Baseline: "b"}
	testStoreConformance(t, storeHarness{
		store: NewRedisStore(c),
		wait:  time.Sleep, // real expiry
		ttl: func(key string) time.Duration {
			d, err := c.PTTL(t.Context(), key).Result()
			if err != nil || d < 0 {
				return 0
			}
			return d
		},
		ns: ns,
	})
	// Every key of a namespace shares one cluster slot.
	keys, err := c.Keys(t.Context(), ns.Prefix+":*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v, %v", keys, err)
	}
	slot := func(k string) int64 { return int64(redisHashSlot(k)) }
	for _, k := range keys {
		if slot(k) != slot(keys[0]) {
			t.Fatalf("keys %s and %s are in different slots", k, keys[0])
		}
	}
	c.Del(t.Context(), keys...)
}

// redisHashSlot is Redis Cluster's key slot: CRC16 of the hash tag.
func redisHashSlot(key string) uint16 {
	if i := indexByte(key, '{'); i >= 0 {
		if j := indexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// BenchmarkRedisFlush flushes one bucket of a 34-column baseline (32
// numeric features in 10 bins, a categorical field, an output), folded from
// a 1024-row batch, to the real Redis per op: one MULTI/EXEC round trip of
// about 400 HINCRBY and 35 PEXPIRE commands.
func BenchmarkRedisFlush(b *testing.B) {
	addr := servicetest.RedisAddr(b)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	spec, base, sb := benchSetup(b)
	defer sb.Decoded.Release()
	now := time.UnixMilli(1_699_999_980_000)
	prefix := fmt.Sprintf("bench-drift-%d", time.Now().UnixNano())
	m, err := NewMonitor(Config{Prefix: prefix, Now: func() time.Time { return now }}, base, spec, NewRedisStore(c), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveBatch(sb)
		if err := m.Flush(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if keys, _ := c.Keys(context.Background(), prefix+":*").Result(); len(keys) > 0 {
		c.Del(context.Background(), keys...)
	}
}
