package consumers

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	lag           *prometheus.GaugeVec
	fetched       *prometheus.CounterVec
	committed     *prometheus.GaugeVec
	commitErrors  prometheus.Counter
	commitSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_consumer_lag_records",
			Help: "Records between the consumer group's committed offset and the high watermark, per partition assigned to this process (read by the health check, so true while nothing is fetched or committed).",
		}, []string{"topic", "partition"}),
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_consumer_fetched_records_total",
			Help: "Records fetched from the input topic.",
		}, []string{"topic", "partition"}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_consumer_committed_offset",
			Help: "Last committed offset (the next offset to read) per partition.",
		}, []string{"topic", "partition"}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_consumer_commit_errors_total",
			Help: "Offset commits that failed and were retried.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_consumer_commit_duration_seconds",
			Help:    "Time to commit offsets.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.lag, m.fetched, m.committed, m.commitErrors, m.commitSeconds)
	}
	return m
}
