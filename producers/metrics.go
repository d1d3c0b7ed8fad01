package producers

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published prometheus.Counter
	retries   prometheus.Counter
	seconds   prometheus.Histogram
	rejected  *prometheus.CounterVec
	truncated prometheus.Counter
	dropped   prometheus.Counter
	paused    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_records_total",
			Help: "Records acknowledged by the broker (scored events and dead letters).",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_retries_total",
			Help: "Produce attempts that failed with a retriable error and were retried.",
		}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_producer_publish_duration_seconds",
			Help:    "Time to publish one batch until acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_producer_rejected_total",
			Help: "Scored events the broker can never accept (or the size guard stopped), published as dead letters of their input, by reason (output_rejected, too_large).",
		}, []string{"reason"}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_truncated_total",
			Help: "Dead letters published truncated because the whole one was too large or refused.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_dropped_total",
			Help: "Records the broker can never accept that had no dead-letter form (no dead-letter topic configured); each is logged at ERROR.",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamscore_producer_paused",
			Help: "Records whose publishing is paused because the broker refuses even their smallest dead-letter form (non-zero stalls their partition).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.retries, m.seconds, m.rejected, m.truncated, m.dropped, m.paused)
	}
	return m
}
