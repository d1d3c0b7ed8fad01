package model

import "github.com/prometheus/client_golang/prometheus"

type routerMetrics struct {
	inference        *prometheus.HistogramVec
	rows             *prometheus.CounterVec
	active           *prometheus.GaugeVec
	compared         prometheus.Counter
	agreed           prometheus.Counter
	absDiff          prometheus.Histogram
	latencyDiff      prometheus.Histogram
	challengerErrors prometheus.Counter
	canaryFallbacks  prometheus.Counter
}

func newRouterMetrics(reg prometheus.Registerer) *routerMetrics {
	m := &routerMetrics{
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamscore_model_inference_duration_seconds",
			Help:    "Time one model takes to score its part of a batch, by role (champion, canary, challenger).",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 18),
		}, []string{"role"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_scored_rows_total",
			Help: "Rows scored, by role and model version.",
		}, []string{"role", "version"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_model_active",
			Help: "1 for each model version in the active lineup, by role; the canary's value is its fraction.",
		}, []string{"role", "version"}),
		compared: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_compared_rows_total",
			Help: "Rows scored by both champion and challenger and compared.",
		}),
		agreed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_agreed_rows_total",
			Help: "Compared rows where champion and challenger agree (same decision at the threshold, same class, or equal within tolerance).",
		}),
		absDiff: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_model_challenger_abs_difference",
			Help:    "Per row, the largest absolute difference between champion and challenger on the first output.",
			Buckets: []float64{1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10},
		}),
		latencyDiff: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_model_challenger_latency_difference_seconds",
			Help:    "Per batch, challenger inference time minus champion inference time (negative: the challenger was faster).",
			Buckets: []float64{-0.1, -0.01, -0.001, -0.0001, -0.00001, 0, 0.00001, 0.0001, 0.001, 0.01, 0.1},
		}),
		challengerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_errors_total",
			Help: "Batches the challenger failed to score (the champion's results were still published).",
		}),
		canaryFallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_canary_fallback_rows_total",
			Help: "Canary rows scored by the champion because the canary failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.inference, m.rows, m.active, m.compared, m.agreed, m.absDiff, m.latencyDiff, m.challengerErrors, m.canaryFallbacks)
	}
	return m
}

func (m *routerMetrics) setActive(l Lineup) {
	m.active.Reset()
	m.active.WithLabelValues(string(RoleChampion), l.Champion.Version()).Set(1)
	if l.Canary != nil {
		m.active.WithLabelValues(string(RoleCanary), l.Canary.Version()).Set(l.CanaryFraction)
	}
	if l.Challenger != nil {
		m.active.WithLabelValues(string(RoleChallenger), l.Challenger.Version()).Set(1)
	}
}
