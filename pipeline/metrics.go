package pipeline

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	scored    prometheus.Counter
	dead      *prometheus.CounterVec
	defaulted prometheus.Counter
	batchRows prometheus.Histogram
	closed    *prometheus.CounterVec
	stage     *prometheus.HistogramVec
	latency   prometheus.Histogram
	aborted   prometheus.Counter

	featureMissing prometheus.Counter
	featureErrors  prometheus.Counter
	featurePaused  prometheus.Gauge
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
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_pipeline_batches_closed_total",
			Help: "Micro-batches closed, by reason: full (max_rows), bytes (max_bytes), wait (max_wait), idle (adaptive: nothing buffered and the scorer idle), target (adaptive: target_latency), drain (the input ended).",
		}, []string{"reason"}),
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
		aborted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_pipeline_aborted_events_total",
			Help: "Events whose transaction aborted (exactly_once): fetched again from the last committed offsets and scored again.",
		}),
		featureMissing: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_features_missing_values_total",
			Help: "Feature-set values scored with their default because the entity was missing, stale or unreadable.",
		}),
		featureErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_features_store_errors_total",
			Help: "Batches whose feature-store lookup failed.",
		}),
		featurePaused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamscore_features_paused",
			Help: "1 while scoring waits for the feature store (fail_closed).",
		}),
	}
	for _, r := range []string{CloseFull, CloseBytes, CloseWait, CloseIdle, CloseTarget, CloseDrain} {
		m.closed.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.scored, m.dead, m.defaulted, m.batchRows, m.closed, m.stage, m.latency, m.aborted, m.featureMissing, m.featureErrors, m.featurePaused)
	}
	return m
}
