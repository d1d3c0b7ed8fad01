package features

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

const benchSpec = `
name: bench
id: id
key: user
features: [{name: x}]
feature_sets:
  - name: s
    layout: %s
    key: "b:{user}"
    features: [{name: f0}, {name: f1}, {name: f2}, {name: f3}, {name: f4}, {name: f5}, {name: f6}, {name: f7}]
model: {input: x, outputs: [{name: y}]}
`

// BenchmarkEnrich measures one 1024-row batch of 1024 distinct entities of
// an 8-feature set against a local redis-server, for each layout and share
// of cache hits. The misses of each iteration are dropped from the cache
// (untimed) so every iteration fetches them again.
//
//	go test -run '^$' -bench Enrich -count 6 ./pipeline/features | benchstat -
func BenchmarkEnrich(b *testing.B) {
	srv := servicetest.StartRedis(b, servicetest.RedisOptions{})
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	const rows, width = 1024, 8
	for _, layout := range []string{"vector", "hash"} {
		spec := parseSpec(b, fmt.Sprintf(benchSpec, layout))
		fs := &spec.FeatureSets[0]
		keys := make([]string, rows)
		ents := make([]Entity, rows)
		for i := range keys {
			keys[i] = fmt.Sprintf("b:%s:%d", layout, i)
			vals := make([]float32, width)
			for j := range vals {
				vals[j] = float32(i*width + j)
			}
			ents[i] = Entity{Key: keys[i], Values: vals}
		}
		w, err := NewWriter(client, fs, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(context.Background(), ents); err != nil {
			b.Fatal(err)
		}
		for _, hits := range []int{0, 50, 100} {
			b.Run(fmt.Sprintf("layout=%s/hits=%d%%", layout, hits), func(b *testing.B) {
				s, err := New(client, spec, Config{CacheTTL: time.Hour}, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				cols := 1 + width
				batch := schemas.EnrichInput{Rows: rows, Cols: cols, Features: make([]float32, rows*cols), Keys: [][]string{keys}}
				if _, err := s.Enrich(context.Background(), batch); err != nil { // warm the cache
					b.Fatal(err)
				}
				cached := rows * hits / 100
				start := s.Stats()
				b.ReportAllocs()
				for b.Loop() {
					if cached < rows {
						b.StopTimer()
						for _, k := range keys[cached:] {
							s.sets[0].cache.forget(k)
						}
						b.StartTimer()
					}
					if _, err := s.Enrich(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				st := s.Stats()
				b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(st.RoundTrips-start.RoundTrips)/float64(b.N), "round-trips/op")
				b.ReportMetric(float64(st.Hits-start.Hits)/float64(st.Lookups-start.Lookups)*100, "hit%")
			})
		}
	}
}
