//go:build integration

package features

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

// Two sets after one event feature x: stats (vector, version 2, max_age 1h)
// at columns 1-2, profile (hash) at columns 3-4.
const storeSpec = `
name: t
id: id
key: user
features: [{name: x}]
feature_sets:
  - name: stats
    version: 2
    key: "st:{user}"
    max_age: 1h
    features: [{name: spend, default: 0.5}, {name: count, default: 2}]
  - name: profile
    layout: hash
    key: "pr:{user}"
    features: [{name: age, default: 30}, {name: tenure, default: 1}]
model: {input: x, outputs: [{name: y}]}
`

const cols = 5

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	srv    *servicetest.Redis
	client *redis.Client
	hook   *pipelineHook
	spec   *schemas.Spec
	store  *Store
	clock  *clock
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{srv: servicetest.StartRedis(t, servicetest.RedisOptions{}), spec: parseSpec(t, storeSpec), hook: &pipelineHook{}, clock: &clock{now: time.Now()}}
	f.client = redis.NewClient(&redis.Options{Addr: f.srv.Addr, MaxRetries: 1, DialTimeout: time.Second})
	f.client.AddHook(f.hook)
	t.Cleanup(func() { f.client.Close() })
	s, err := New(f.client, f.spec, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = f.clock.Now
	f.store = s
	return f
}

func (f *fixture) write(t *testing.T, set int, ents ...Entity) {
	t.Helper()
	w, err := NewWriter(f.client, &f.spec.FeatureSets[set], 0)
	if err != nil {
		t.Fatal(err)
	}
	w.now = f.clock.Now
	if err := w.Write(context.Background(), ents); err != nil {
		t.Fatal(err)
	}
}

// batch returns a batch of users, x = row number, set columns at their
// defaults, keys built as the decoder would.
func (f *fixture) batch(users ...string) schemas.EnrichInput {
	b := schemas.EnrichInput{Rows: len(users), Cols: cols, Features: make([]float32, len(users)*cols), Keys: make([][]string, 2)}
	for r, u := range users {
		copy(b.Features[r*cols:], []float32{float32(r), 0.5, 2, 30, 1})
		b.Keys[0] = append(b.Keys[0], "st:"+u)
		b.Keys[1] = append(b.Keys[1], "pr:"+u)
	}
	return b
}

func row(b schemas.EnrichInput, r int) []float32 { return b.Features[r*cols : (r+1)*cols] }

func TestEnrichReadsBothLayouts(t *testing.T) {
	f := newFixture(t, Config{})
	f.write(t, 0, Entity{Key: "st:a", Values: []float32{10, 11}}, Entity{Key: "st:b", Values: []float32{20, 21}})
	f.write(t, 1, Entity{Key: "pr:a", Values: []float32{40, 41}})
	// A hash another tool wrote: no _ts, no _v, one feature absent.
	f.client.HSet(context.Background(), "pr:b", "age", "50")

	before := commandCalls(t, f.client)
	pipes := f.hook.pipelines.Load()
	b := f.batch("a", "b", "a", "nobody", "b")
	res, err := f.store.Enrich(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{
		{0, 10, 11, 40, 41},
		{1, 20, 21, 50, 1},
		{2, 10, 11, 40, 41},
		{3, 0.5, 2, 30, 1},
		{4, 20, 21, 50, 1},
	}
	for r := range want {
		if !slices.Equal(row(b, r), want[r]) {
			t.Errorf("row %d = %v, want %v", r, row(b, r), want[r])
		}
	}
	if !slices.Equal(res.Missing, []bool{false, true, false, true, true}) {
		t.Errorf("Missing = %v", res.Missing)
	}
	// nobody: 2 + 2 defaults; each b row: tenure.
	if res.MissingValues != 4+1+1 {
		t.Errorf("MissingValues = %d, want 6", res.MissingValues)
	}
	after := commandCalls(t, f.client)
	if got := after["mget"] - before["mget"]; got != 1 {
		t.Errorf("Redis ran %d MGETs for one batch, want 1", got)
	}
	if got := after["hmget"] - before["hmget"]; got != 3 {
		t.Errorf("Redis ran %d HMGETs for 3 distinct hash keys, want 3", got)
	}
	st := f.store.Stats()
	if st.RoundTrips != 1 || f.hook.pipelines.Load()-pipes != 1 || st.Lookups != 6 || st.Hits != 0 || st.Fetched != 6 {
		t.Errorf("stats %+v, pipelines %d; want 1 round trip, 6 lookups fetched", st, f.hook.pipelines.Load()-pipes)
	}
	if st.Missing["absent"] != 2 || st.Missing["partial"] != 1 {
		t.Errorf("missing by reason = %v, want absent 2, partial 1", st.Missing)
	}

	// The same batch again: all answered by the cache (nobody negatively),
	// no round trip, same result.
	b2 := f.batch("a", "b", "a", "nobody", "b")
	res2, err := f.store.Enrich(context.Background(), b2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b2.Features, b.Features) || !slices.Equal(res2.Missing, res.Missing) || res2.MissingValues != res.MissingValues {
		t.Errorf("cached result differs: %v %v %d", b2.Features, res2.Missing, res2.MissingValues)
	}
	if st := f.store.Stats(); st.RoundTrips != 1 || st.Hits != 6 {
		t.Errorf("after a cached batch: %+v, want still 1 round trip and 6 hits", st)
	}
	if got := commandCalls(t, f.client)["mget"] - after["mget"]; got != 0 {
		t.Errorf("Redis ran %d MGETs for a cached batch", got)
	}
}

func TestRoundTripsPerBatch(t *testing.T) {
	for _, n := range []int{1, 100, 1024, 3000} {
		t.Run(fmt.Sprint(n, " distinct keys"), func(t *testing.T) {
			f := newFixture(t, Config{})
			users := make([]string, 0, 2*n)
			var ents []Entity
			for i := range n {
				u := fmt.Sprint("u", i)
				users = append(users, u, u)
				ents = append(ents, Entity{Key: "st:" + u, Values: []float32{float32(i), 1}})
			}
			f.write(t, 0, ents...)
			before := commandCalls(t, f.client)
			pipes := f.hook.pipelines.Load()
			if _, err := f.store.Enrich(context.Background(), f.batch(users...)); err != nil {
				t.Fatal(err)
			}
			if st := f.store.Stats(); st.RoundTrips != 1 || st.Fetched != int64(2*n) {
				t.Fatalf("uncached batch: %+v; want 1 round trip fetching %d entities", st, 2*n)
			}
			if got := f.hook.pipelines.Load() - pipes; got != 1 {
				t.Fatalf("the client sent %d pipelines for one batch", got)
			}
			after := commandCalls(t, f.client)
			wantMget := int64((n + mgetChunk - 1) / mgetChunk)
			if got := after["mget"] - before["mget"]; got != wantMget {
				t.Errorf("%d MGETs, want %d (chunks of %d keys)", got, wantMget, mgetChunk)
			}
			b := f.batch(users...)
			if _, err := f.store.Enrich(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if st := f.store.Stats(); st.RoundTrips != 1 || st.Hits != int64(2*n) {
				t.Fatalf("cached batch: %+v; want no new round trip", st)
			}
			if got := row(b, 2*n-1)[1]; got != float32(n-1) {
				t.Fatalf("last row's spend = %v, want %d", got, n-1)
			}
		})
	}
}

func TestConcurrentIdenticalMissesAreFetchedOnce(t *testing.T) {
	f := newFixture(t, Config{})
	f.write(t, 0, Entity{Key: "st:a", Values: []float32{1, 2}}, Entity{Key: "st:b", Values: []float32{3, 4}})
	pipes := f.hook.pipelines.Load()
	f.hook.hold = make(chan struct{})
	f.hook.entered = make(chan struct{}, 4)
	errs := make(chan error, 2)
	batches := []schemas.EnrichInput{f.batch("a", "b"), f.batch("b", "a", "a")}
	go func() {
		_, err := f.store.Enrich(context.Background(), batches[0])
		errs <- err
	}()
	<-f.hook.entered // the first call's fetch is on the wire
	go func() {
		_, err := f.store.Enrich(context.Background(), batches[1])
		errs <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for f.store.Stats().Coalesced < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("second call did not join the first's fetch: %+v", f.store.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	close(f.hook.hold)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := f.store.Stats(); st.RoundTrips != 1 || st.Fetched != 4 || st.Coalesced != 4 || f.hook.pipelines.Load()-pipes != 1 {
		t.Fatalf("stats %+v, pipelines %d; want one fetch shared by both calls", st, f.hook.pipelines.Load()-pipes)
	}
	if got := row(batches[1], 0); got[1] != 3 || got[3] != 30 {
		t.Fatalf("joined call's row = %v, want b's spend 3 and the default age 30", got)
	}
}

func TestMaxAgeVersionAndNegativeCaching(t *testing.T) {
	f := newFixture(t, Config{CacheTTL: time.Hour, NegativeTTL: time.Minute})
	now := f.clock.Now()
	f.write(t, 0,
		Entity{Key: "st:fresh", Values: []float32{1, 1}, Written: now.Add(-59 * time.Minute)},
		Entity{Key: "st:old", Values: []float32{2, 2}, Written: now.Add(-61 * time.Minute)},
	)
	old := AppendVector(nil, 1, now, []float32{3, 3}) // written for version 1; the set is version 2
	f.client.Set(context.Background(), "st:v1", old, 0)

	b := f.batch("fresh", "old", "v1", "later")
	if _, err := f.store.Enrich(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if row(b, 0)[1] != 1 || row(b, 1)[1] != 0.5 || row(b, 2)[1] != 0.5 || row(b, 3)[1] != 0.5 {
		t.Fatalf("spend per row = %v %v %v %v; want 1 then defaults", row(b, 0)[1], row(b, 1)[1], row(b, 2)[1], row(b, 3)[1])
	}
	st := f.store.Stats()
	if st.Missing["stale"] != 1 || st.Missing["version"] != 1 || st.Missing["absent"] != 5 {
		// absent: later's vector and all four hashes.
		t.Fatalf("missing by reason %v", st.Missing)
	}

	// later is loaded now, but its absence is remembered for a minute.
	f.write(t, 0, Entity{Key: "st:later", Values: []float32{4, 4}})
	b = f.batch("later")
	f.store.Enrich(context.Background(), b)
	if row(b, 0)[1] != 0.5 || f.store.Stats().RoundTrips != 1 {
		t.Fatalf("within negative_ttl: spend %v, round trips %d; want the remembered miss", row(b, 0)[1], f.store.Stats().RoundTrips)
	}
	f.clock.Add(61 * time.Second)
	b = f.batch("later", "fresh")
	f.store.Enrich(context.Background(), b)
	if row(b, 0)[1] != 4 {
		t.Fatalf("after negative_ttl: spend %v, want 4", row(b, 0)[1])
	}
	// fresh was cached for an hour but is past its max_age now: the cache
	// does not serve it, Redis says stale.
	if row(b, 1)[1] != 0.5 {
		t.Fatalf("fresh after its max_age: spend %v, want the default", row(b, 1)[1])
	}
}

func TestRedisDownFailsWithoutTouchingTheBatch(t *testing.T) {
	f := newFixture(t, Config{Timeout: 3 * time.Second})
	ctx := context.Background()
	f.write(t, 0, Entity{Key: "st:a", Values: []float32{1, 2}}, Entity{Key: "st:b", Values: []float32{3, 4}})
	f.write(t, 1, Entity{Key: "pr:a", Values: []float32{5, 6}})
	if _, err := f.store.Enrich(ctx, f.batch("a")); err != nil { // a is cached now
		t.Fatal(err)
	}
	f.srv.Stop(t)
	b := f.batch("b")
	if _, err := f.store.Enrich(ctx, b); err == nil {
		t.Fatal("Enrich succeeded with Redis down")
	}
	if got := row(b, 0); !slices.Equal(got, []float32{0, 0.5, 2, 30, 1}) {
		t.Fatalf("a failed Enrich changed the row to %v", got)
	}
	// Within the retry interval: batches needing Redis fail at once...
	trips := f.store.Stats().RoundTrips
	start := time.Now()
	if _, err := f.store.Enrich(ctx, f.batch("b")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Enrich within the retry interval = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond || f.store.Stats().RoundTrips != trips {
		t.Fatalf("failing fast took %s and %d round trips", d, f.store.Stats().RoundTrips-trips)
	}
	// ...and batches the cache answers still succeed.
	b = f.batch("a")
	if _, err := f.store.Enrich(ctx, b); err != nil || row(b, 0)[1] != 1 {
		t.Fatalf("cached batch during the outage: %v, row %v", err, row(b, 0))
	}

	f.srv.Start(t) // same port, empty (no persistence)
	f.write(t, 0, Entity{Key: "st:b", Values: []float32{3, 4}})
	f.clock.Add(DefaultRetryInterval)
	b = f.batch("b")
	if _, err := f.store.Enrich(ctx, b); err != nil {
		t.Fatalf("Enrich after Redis came back: %v", err)
	}
	if row(b, 0)[1] != 3 {
		t.Fatalf("row after recovery = %v", row(b, 0))
	}
}

func TestInspect(t *testing.T) {
	f := newFixture(t, Config{})
	f.write(t, 0, Entity{Key: "st:a", Values: []float32{1, 2}})
	in, err := Inspect(context.Background(), f.client, &f.spec.FeatureSets[0], "st:a", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != "ok" || in.Version != 2 || !slices.Equal(in.Values, []float32{1, 2}) || !slices.Equal(in.Present, []bool{true, true}) || in.TTL >= 0 {
		t.Fatalf("vector inspection = %+v", in)
	}
	f.client.HSet(context.Background(), "pr:a", "age", "7", "_v", "1")
	in, err = Inspect(context.Background(), f.client, &f.spec.FeatureSets[1], "pr:a", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != "partial" || !slices.Equal(in.Values, []float32{7, 1}) || !slices.Equal(in.Present, []bool{true, false}) {
		t.Fatalf("hash inspection = %+v", in)
	}
	in, err = Inspect(context.Background(), f.client, &f.spec.FeatureSets[0], "st:nobody", time.Now())
	if err != nil || in.Status != "absent" {
		t.Fatalf("absent inspection = %+v, %v", in, err)
	}
}

func TestWriterTTLAndHashLayout(t *testing.T) {
	f := newFixture(t, Config{})
	w, err := NewWriter(f.client, &f.spec.FeatureSets[1], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), []Entity{{Key: "pr:z", Values: []float32{1.25, 3}}}); err != nil {
		t.Fatal(err)
	}
	h := f.client.HGetAll(context.Background(), "pr:z").Val()
	if h["age"] != "1.25" || h["tenure"] != "3" || h["_v"] != "1" || h["_ts"] == "" {
		t.Fatalf("stored hash = %v", h)
	}
	if ttl := f.client.PTTL(context.Background(), "pr:z").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL = %v, want within a minute", ttl)
	}
	if err := w.Write(context.Background(), []Entity{{Key: "pr:y", Values: []float32{1}}}); err == nil {
		t.Fatal("Write accepted an entity with too few values")
	}
}

func TestKeyOfAnotherTypeIsMissingNotAFailure(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	f.client.Set(ctx, "pr:a", "a string where a hash belongs", 0)
	f.client.HSet(ctx, "st:a", "spend", "1") // a hash where a vector belongs
	b := f.batch("a")
	res, err := f.store.Enrich(ctx, b)
	if err != nil {
		t.Fatalf("one key of the wrong type failed the batch: %v", err)
	}
	if res.MissingValues != 4 || f.store.Stats().Missing["malformed"] != 1 || f.store.Stats().Missing["absent"] != 1 {
		t.Fatalf("result %+v, stats %+v; want both entities missing (hash malformed, vector absent: MGET reads non-strings as nil)", res, f.store.Stats())
	}
}
