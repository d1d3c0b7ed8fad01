package model

import "github.com/prometheus/client_golang/prometheus"

// routerMetrics are the Router's Prometheus series. Every series is per
// model: its "model" label is the model's name (for the challenger
// comparison series, the champion's name), so one Prometheus can tell
// apart the models that several scorers serve.
type routerMetrics struct {
	inference        *prometheus.HistogramVec
	rows             *prometheus.CounterVec
	active           *prometheus.GaugeVec
	compared         *prometheus.CounterVec
	agreed           *prometheus.CounterVec
	absDiff          *prometheus.HistogramVec
	latencyDiff      *prometheus.HistogramVec
	challengerErrors *prometheus.CounterVec
	canaryFallbacks  *prometheus.CounterVec
}

func newRouterMetrics(reg prometheus.Registerer) *routerMetrics {
	m := &routerMetrics{
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamscore_model_inference_duration_seconds",
			Help:    "Time one model takes to score its part of a batch, by model and role (champion, canary, challenger).",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 18),
		}, []string{"model", "role"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_scored_rows_total",
			Help: "Rows scored, by model, role and model version.",
		}, []string{"model", "role", "version"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_model_active",
			Help: "1 for each model version in the active lineup, by model and role; the canary's value is its fraction.",
		}, []string{"model", "role", "version"}),
		compared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_compared_rows_total",
			Help: "Rows scored by both champion and challenger and compared, by the champion's model name.",
		}, []string{"model"}),
		agreed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_agreed_rows_total",
			Help: "Compared rows where champion and challenger agree (same decision at the threshold, same class, or equal within tolerance), by the champion's model name.",
		}, []string{"model"}),
		absDiff: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamscore_model_challenger_abs_difference",
			Help:    "Per row, the largest absolute difference between champion and challenger on the first output, by the champion's model name.",
			Buckets: []float64{1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10},
		}, []string{"model"}),
		latencyDiff: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamscore_model_challenger_latency_difference_seconds",
			Help:    "Per batch, challenger inference time minus champion inference time (negative: the challenger was faster), by the champion's model name.",
			Buckets: []float64{-0.1, -0.01, -0.001, -0.0001, -0.00001, 0, 0.00001, 0.0001, 0.001, 0.01, 0.1},
		}, []string{"model"}),
		challengerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_errors_total",
			Help: "Batches the challenger failed to score (the champion's results were still published), by the champion's model name.",
		}, []string{"model"}),
		canaryFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_canary_fallback_rows_total",
			Help: "Canary rows scored by the champion because the canary failed, by the champion's model name.",
		}, []string{"model"}),
	}
	if reg != nil {
		reg.MustRegister(m.inference, m.rows, m.active, m.compared, m.agreed, m.absDiff, m.latencyDiff, m.challengerErrors, m.canaryFallbacks)
	}
	return m
}

// setActive describes l in the active gauge and creates the lineup's
// counters at zero, so that dashboards and alerts see zeros rather than
// nothing before the first batch.
func (m *routerMetrics) setActive(l Lineup) {
	m.active.Reset()
	name := l.Champion.Name()
	m.active.WithLabelValues(name, string(RoleChampion), l.Champion.Version()).Set(1)
	m.rows.WithLabelValues(name, string(RoleChampion), l.Champion.Version())
	m.canaryFallbacks.WithLabelValues(name)
	if l.Canary != nil {
		m.active.WithLabelValues(l.Canary.Name(), string(RoleCanary), l.Canary.Version()).Set(l.CanaryFraction)
		m.rows.WithLabelValues(l.Canary.Name(), string(RoleCanary), l.Canary.Version())
	}
	if l.Challenger != nil {
		m.active.WithLabelValues(l.Challenger.Name(), string(RoleChallenger), l.Challenger.Version()).Set(1)
		m.rows.WithLabelValues(l.Challenger.Name(), string(RoleChallenger), l.Challenger.Version())
		m.compared.WithLabelValues(name)
		m.agreed.WithLabelValues(name)
		m.challengerErrors.WithLabelValues(name)
	}
}
