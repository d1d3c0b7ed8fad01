package features

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	lookups, hits, misses []prometheus.Counter // per set
	missing               *prometheus.CounterVec
	roundTrips            prometheus.Counter
	redisSeconds          prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, sets []string) *metrics {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "streamscore_features_lookups_total",
		Help: "Distinct entities looked up, per batch, by feature set.",
	}, []string{"set"})
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "streamscore_features_cache_hits_total",
		Help: "Lookups answered by the in-process cache (missing entities remembered included).",
	}, []string{"set"})
	misses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "streamscore_features_cache_misses_total",
		Help: "Lookups the in-process cache could not answer: fetched from Redis, or waited for a concurrent fetch of the same entity.",
	}, []string{"set"})
	m := &metrics{
		missing: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_features_missing_entities_total",
			Help: "Lookups that found no usable entity (absent, stale, version, malformed) or only some of its features (partial).",
		}, []string{"set", "reason"}),
		roundTrips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_features_redis_round_trips_total",
			Help: "Pipelined Redis round trips (at most one per batch; in Cluster mode one per master, in parallel).",
		}),
		redisSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_features_redis_seconds",
			Help:    "Duration of one batch's Redis round trip.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}),
	}
	for _, s := range sets {
		m.lookups = append(m.lookups, lookups.WithLabelValues(s))
		m.hits = append(m.hits, hits.WithLabelValues(s))
		m.misses = append(m.misses, misses.WithLabelValues(s))
	}
	if reg != nil {
		reg.MustRegister(lookups, hits, misses, m.missing, m.roundTrips, m.redisSeconds)
	}
	return m
}
