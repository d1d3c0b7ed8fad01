package drift

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Monitor's Prometheus series.
type metrics struct {
	score       *prometheus.GaugeVec
	threshold   *prometheus.GaugeVec
	alert       *prometheus.GaugeVec
	windowEv    *prometheus.GaugeVec
	observed    prometheus.Counter
	lost        *prometheus.CounterVec
	flushes     *prometheus.CounterVec
	flushTime   prometheus.Histogram
	pending     prometheus.Gauge
	transitions *prometheus.CounterVec
	leader      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		score: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_drift_score",
			Help: "Drift score of a column's rolling window against its baseline (NaN when it does not apply or there is no data).",
		}, []string{"model", "version", "feature", "score"}),
		threshold: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_drift_threshold",
			Help: "Alert level of a column's drift score: the column alerts when the score crosses it.",
		}, []string{"model", "version", "feature", "score"}),
		alert: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_drift_alert",
			Help: "1 while a column is in drift alert, else 0.",
		}, []string{"model", "version", "feature"}),
		windowEv: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_drift_window_events",
			Help: "Scored events in the rolling drift window, all replicas together.",
		}, []string{"model", "version"}),
		observed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_drift_observed_events_total",
			Help: "Scored events this process folded into drift histograms.",
		}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_drift_lost_events_total",
			Help: "Events whose drift counts were dropped before reaching the store (overflow: too many buckets pending; expired: older than the window).",
		}, []string{"reason"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_drift_flushes_total",
			Help: "Flushes of drift counts to the store, by result.",
		}, []string{"result"}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_drift_flush_duration_seconds",
			Help:    "Time of one flush of drift counts to the store (one round trip).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamscore_drift_pending_buckets",
			Help: "Buckets of drift counts held locally, not yet in the store.",
		}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_drift_transitions_total",
			Help: "Drift events raised by this process, by type (drift_detected, drift_cleared).",
		}, []string{"type"}),
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_drift_leader",
			Help: "1 while this process holds the lease that raises drift events for a model version.",
		}, []string{"model", "version"}),
	}
	// Every series of a known label value exists from the start, so
	// dashboards and alerts see zeros rather than nothing.
	for _, r := range []string{"overflow", "expired", "shutdown"} {
		m.lost.WithLabelValues(r)
	}
	for _, typ := range []string{EventDetected, EventCleared} {
		m.transitions.WithLabelValues(typ)
	}
	if reg != nil {
		reg.MustRegister(m.score, m.threshold, m.alert, m.windowEv, m.observed, m.lost, m.flushes, m.flushTime, m.pending, m.transitions, m.leader)
	}
	return m
}
