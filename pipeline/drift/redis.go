package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore is the Store of production: one hash per column and bucket
// (field: bin index, or "m" for missing values), a hash of column states, a
// lease key and a history list per namespace. Every key of a namespace
// shares one Redis Cluster hash tag. It is safe for concurrent use.
type RedisStore struct {
	c redis.UniversalClient
}

// NewRedisStore returns a store on c; the caller keeps ownership of c.
func NewRedisStore(c redis.UniversalClient) *RedisStore { return &RedisStore{c: c} }

// Add implements Store: one MULTI/EXEC of HINCRBY and PEXPIRE commands, so
// a failed flush adds nothing and can be retried whole.
func (s *RedisStore) Add(ctx context.Context, buckets []BucketCounts, ttl time.Duration) error {
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, b := range buckets {
			if b.Events != 0 {
				k := b.NS.EventsKey(b.Start)
				p.HIncrBy(ctx, k, "n", b.Events)
				p.PExpire(ctx, k, ttl)
			}
			for i, h := range b.Columns {
				k := b.NS.CountsKey(b.Names[i], b.Start)
				touched := false
				for j, c := range h.Counts {
					if c != 0 {
						p.HIncrBy(ctx, k, strconv.Itoa(j), c)
						touched = true
					}
				}
				if h.Missing != 0 {
					p.HIncrBy(ctx, k, missingField, h.Missing)
					touched = true
				}
				if touched {
					p.PExpire(ctx, k, ttl)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("adding drift counts to Redis: %w", err)
	}
	return nil
}

// Read implements Store with one pipeline of HGETALLs.
func (s *RedisStore) Read(ctx context.Context, ns Namespace, cols []Column, starts []int64) ([]BucketCounts, error) {
	events := make([]*redis.MapStringStringCmd, len(starts))
	counts := make([][]*redis.MapStringStringCmd, len(starts))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range starts {
			events[i] = p.HGetAll(ctx, ns.EventsKey(st))
			counts[i] = make([]*redis.MapStringStringCmd, len(cols))
			for j := range cols {
				counts[i][j] = p.HGetAll(ctx, ns.CountsKey(cols[j].Name, st))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading drift window from Redis: %w", err)
	}
	out := make([]BucketCounts, len(starts))
	for i, st := range starts {
		n, _ := strconv.ParseInt(events[i].Val()["n"], 10, 64)
		b := BucketCounts{NS: ns, Start: st, Events: n, Names: make([]string, len(cols)), Columns: make([]Histogram, len(cols))}
		for j := range cols {
			b.Names[j] = cols[j].Name
			b.Columns[j] = parseHash(counts[i][j].Val(), cols[j].Bins())
		}
		out[i] = b
	}
	return out, nil
}

// leadScript takes the lease if it is free or already ours, and (re)sets
// its time to live.
var leadScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// Lead implements Store.
func (s *RedisStore) Lead(ctx context.Context, ns Namespace, id string, ttl time.Duration) (bool, error) {
	n, err := leadScript.Run(ctx, s.c, []string{ns.leaderKey()}, id, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("taking the drift lease in Redis: %w", err)
	}
	return n == 1, nil
}

// States implements Store.
func (s *RedisStore) States(ctx context.Context, ns Namespace) (map[string]ColumnState, error) {
	h, err := s.c.HGetAll(ctx, ns.stateKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("reading drift states from Redis: %w", err)
	}
	out := make(map[string]ColumnState, len(h))
	for k, v := range h {
		var st ColumnState
		if json.Unmarshal([]byte(v), &st) == nil {
			out[k] = st
		}
	}
	return out, nil
}

// SetState implements Store.
func (s *RedisStore) SetState(ctx context.Context, ns Namespace, column string, st ColumnState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding drift state: %w", err)
	}
	if err := s.c.HSet(ctx, ns.stateKey(), column, b).Err(); err != nil {
		return fmt.Errorf("writing drift state to Redis: %w", err)
	}
	return nil
}

// AppendHistory implements Store.
func (s *RedisStore) AppendHistory(ctx context.Context, ns Namespace, p HistoryPoint, max int, ttl time.Duration) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding drift history: %w", err)
	}
	k := ns.historyKey()
	_, err = s.c.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.RPush(ctx, k, b)
		pp.LTrim(ctx, k, int64(-max), -1)
		pp.PExpire(ctx, k, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("appending drift history to Redis: %w", err)
	}
	return nil
}

// History implements Store.
func (s *RedisStore) History(ctx context.Context, ns Namespace) ([]HistoryPoint, error) {
	vals, err := s.c.LRange(ctx, ns.historyKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading drift history from Redis: %w", err)
	}
	out := make([]HistoryPoint, 0, len(vals))
	for _, v := range vals {
		var p HistoryPoint
		if json.Unmarshal([]byte(v), &p) == nil {
			out = append(out, p)
		}
	}
	return out, nil
}
