package producers

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published prometheus.Counter
	retries   prometheus.Counter
	seconds   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_records_total",
			Help: "Records acknowledged by the broker (scored events and dead letters).",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_retries_total",
			Help: "Produce attempts that failed and were retried.",
		}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_producer_publish_duration_seconds",
			Help:    "Time to publish one batch until acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.retries, m.seconds)
	}
	return m
}
