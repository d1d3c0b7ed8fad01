package pipeline

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	scored    prometheus.Counter
	dead      *prometheus.CounterVec
	defaulted prometheus.Counter
	batchRows prometheus.Histogram
	stage     *prometheus.HistogramVec
	latency   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		scored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_pipeline_scored_events_total",
			Help: "Scored events published and acknowledged.",
		}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_pipeline_dead_letters_total",
			Help: "Events sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		defaulted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_pipeline_defaulted_features_total",
			Help: "Feature values absent or null in the event that took the schema default.",
		}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_pipeline_batch_rows",
			Help:    "Events per micro-batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamscore_pipeline_stage_duration_seconds",
			Help:    "Time one batch spends in a stage.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
		}, []string{"stage"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_pipeline_event_latency_seconds",
			Help:    "From the input record's Kafka timestamp to its scored event being acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.scored, m.dead, m.defaulted, m.batchRows, m.stage, m.latency)
	}
	return m
}
