package console

import (
	"math"
	"sort"
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// Metric names the console reads. A missing one leaves its section empty.
const (
	mFetched        = "streamscore_consumer_fetched_records_total"
	mLag            = "streamscore_consumer_lag_records"
	mCommitted      = "streamscore_consumer_committed_offset"
	mCommitErrors   = "streamscore_consumer_commit_errors_total"
	mScored         = "streamscore_pipeline_scored_events_total"
	mDead           = "streamscore_pipeline_dead_letters_total"
	mBatchRows      = "streamscore_pipeline_batch_rows"
	mLatency        = "streamscore_pipeline_event_latency_seconds"
	mStage          = "streamscore_pipeline_stage_duration_seconds"
	mFeatureErrors  = "streamscore_features_store_errors_total"
	mFeaturePaused  = "streamscore_features_paused"
	mLookups        = "streamscore_features_lookups_total"
	mHits           = "streamscore_features_cache_hits_total"
	mRedisSeconds   = "streamscore_features_redis_seconds"
	mModelActive    = "streamscore_model_active"
	mModelRows      = "streamscore_model_scored_rows_total"
	mCompared       = "streamscore_model_challenger_compared_rows_total"
	mAgreed         = "streamscore_model_challenger_agreed_rows_total"
	mCanaryFallback = "streamscore_model_canary_fallback_rows_total"
	mDriftScore     = "streamscore_drift_score"
	mDriftAlert     = "streamscore_drift_alert"
	mDriftThreshold = "streamscore_drift_threshold"
	mDriftWindow    = "streamscore_drift_window_events"
	mServeRequests  = "streamscore_serve_requests_total"
	mServeEvents    = "streamscore_serve_events_total"
	mServeBatchRows = "streamscore_serve_batch_rows"
	mServeDuration  = "streamscore_serve_request_duration_seconds"
	mBuildInfo      = "streamscore_build_info"
)

// Number is a float64 that encodes NaN and ±Inf as JSON null.
type Number float64

// MarshalJSON writes the number, or null when it is not finite.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// Status is the document /api/status serves: one consistent read of the
// process's metrics, plus rates and sparklines from the console's samples.
// Totals are the counters' values at Time; rates are per second over the
// last sample interval.
type Status struct {
	Command string `json:"command"`
	Version string `json:"version,omitempty"`
	Commit  string `json:"commit,omitempty"`
	// Time is when the metrics were read, epoch milliseconds.
	Time int64 `json:"time"`
	// RefreshMS is the page's polling interval.
	RefreshMS int64 `json:"refresh_ms"`
	Ready     Ready `json:"ready"`
	// Stream is true when the process scores a Kafka stream (run): the
	// throughput, batch, latency and dead-letter parts describe it. serve
	// has none of those; its traffic is under Serve.
	Stream     bool             `json:"stream"`
	Throughput Throughput       `json:"throughput"`
	Batches    Batches          `json:"batches"`
	Latency    Quantiles        `json:"latency_seconds"`
	Stages     map[string]Stage `json:"stages,omitempty"`
	Lag        []Lag            `json:"lag"`
	LagTotal   Number           `json:"lag_total"`
	Dead       map[string]int64 `json:"dead_letters"`
	Models     *Models          `json:"models,omitempty"`
	Drift      []Drift          `json:"drift"`
	Features   *Features        `json:"features,omitempty"`
	Serve      *Serve           `json:"serve,omitempty"`
}

// Ready is the readiness check's answer.
type Ready struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Throughput counts events in (fetched), out (scored and acknowledged) and
// dead-lettered.
type Throughput struct {
	InTotal   int64    `json:"in_total"`
	OutTotal  int64    `json:"out_total"`
	DeadTotal int64    `json:"dead_total"`
	InRate    Number   `json:"in_per_s"`
	OutRate   Number   `json:"out_per_s"`
	InSpark   []Number `json:"in_spark"`
	OutSpark  []Number `json:"out_spark"`
}

// Batches describes micro-batch sizes and why batches closed.
type Batches struct {
	Total    int64  `json:"total"`
	MeanRows Number `json:"mean_rows"`
	// P50Rows and P99Rows are over the last sample interval (all time
	// before the second sample).
	P50Rows      Number           `json:"p50_rows"`
	P99Rows      Number           `json:"p99_rows"`
	CloseReasons map[string]int64 `json:"close_reasons,omitempty"`
}

// Quantiles are event-to-score latency percentiles over the last sample
// interval, in seconds.
type Quantiles struct {
	Count int64  `json:"count"`
	P50   Number `json:"p50"`
	P90   Number `json:"p90"`
	P99   Number `json:"p99"`
}

// Stage is one pipeline stage's time per batch.
type Stage struct {
	P50 Number `json:"p50_seconds"`
	P99 Number `json:"p99_seconds"`
}

// Lag is one input partition's consumer lag.
type Lag struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Lag       int64  `json:"lag"`
	Committed int64  `json:"committed"`
}

// Models is the active lineup and the challenger's agreement.
type Models struct {
	Active []ModelVersion `json:"active"`
	// Agreement is agreed/compared rows of the challenger (null without one).
	Compared       int64  `json:"challenger_compared"`
	Agreed         int64  `json:"challenger_agreed"`
	Agreement      Number `json:"challenger_agreement"`
	CanaryFallback int64  `json:"canary_fallback_rows"`
}

// ModelVersion is one role of the lineup.
type ModelVersion struct {
	// Model is the model's name.
	Model   string `json:"model"`
	Role    string `json:"role"`
	Version string `json:"version"`
	// Share is the canary's fraction of keys; 1 for the other roles.
	Share Number `json:"share"`
	Rows  int64  `json:"rows"`
}

// Drift is one column's drift: its scores, thresholds and alert state, and
// the recent values of its primary score (Score) for a sparkline.
type Drift struct {
	Model      string            `json:"model"`
	Version    string            `json:"version"`
	Column     string            `json:"column"`
	Scores     map[string]Number `json:"scores"`
	Thresholds map[string]Number `json:"thresholds,omitempty"`
	Drifting   bool              `json:"drifting"`
	// Score names the score of the sparkline and Value its current value.
	Score     string   `json:"score"`
	Value     Number   `json:"value"`
	Threshold Number   `json:"threshold"`
	Spark     []Number `json:"spark"`
}

// Features is the feature store's cache and Redis health.
type Features struct {
	Lookups  int64  `json:"lookups"`
	Hits     int64  `json:"cache_hits"`
	HitRatio Number `json:"hit_ratio"`
	// Errors counts batches whose Redis lookup failed; RecentErrors those
	// in the last sample interval.
	Errors       int64  `json:"errors"`
	RecentErrors int64  `json:"recent_errors"`
	Paused       bool   `json:"paused"`
	RedisP50     Number `json:"redis_p50_seconds"`
	RedisP99     Number `json:"redis_p99_seconds"`
	// RedisOK is false while Redis fails (an error in the last interval,
	// or scoring paused for it).
	RedisOK bool `json:"redis_ok"`
}

// Serve is the HTTP scoring endpoint's traffic.
type Serve struct {
	Requests int64 `json:"requests"`
	Events   int64 `json:"events"`
	// Rejected counts events answered with an error (the HTTP side's dead
	// letters).
	Rejected  int64  `json:"rejected"`
	Rate      Number `json:"requests_per_s"`
	MeanBatch Number `json:"mean_batch_rows"`
	P99       Number `json:"p99_seconds"`
}

// sample is what the console remembers of one read, for rates, interval
// quantiles and sparklines.
type sample struct {
	at       int64 // epoch ms
	in, out  float64
	dead     float64
	requests float64
	fErrors  float64
	latency  *hist
	batch    *hist
	redis    *hist
	drift    map[string]float64 // driftKey -> primary score
}

func driftKey(model, version, column string) string {
	return model + "\x00" + version + "\x00" + column
}

// primaryScore picks the score a column's sparkline shows: the first with
// a threshold in the order psi, js, ks, else the first present in that order.
func primaryScore(scores, thresholds map[string]Number) string {
	order := []string{"psi", "js", "ks"}
	for _, s := range order {
		if _, ok := thresholds[s]; ok {
			return s
		}
	}
	for _, s := range order {
		if _, ok := scores[s]; ok {
			return s
		}
	}
	keys := make([]string, 0, len(scores))
	for k := range scores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// read turns one gather into a sample (and the parts of a Status that need
// no history).
func read(mfs []*dto.MetricFamily, now int64) (*Status, *sample) {
	f := index(mfs)
	st := &Status{Time: now, Dead: map[string]int64{}, Lag: []Lag{}, Drift: []Drift{}}
	s := &sample{at: now, drift: map[string]float64{}}

	if mf := f[mBuildInfo]; mf != nil && len(mf.GetMetric()) > 0 {
		st.Version = label(mf.GetMetric()[0], "version")
		st.Commit = label(mf.GetMetric()[0], "commit")
	}

	var fetched, scored bool
	s.in, fetched = f.sum(mFetched)
	s.out, scored = f.sum(mScored)
	st.Stream = fetched || scored
	s.dead, _ = f.sum(mDead)
	st.Throughput.InTotal, st.Throughput.OutTotal, st.Throughput.DeadTotal = int64(s.in), int64(s.out), int64(s.dead)
	for r, v := range f.by(mDead, "reason") {
		st.Dead[r] = int64(v)
	}

	s.batch = f.histogram(mBatchRows, nil)
	if s.batch != nil {
		st.Batches.Total = int64(s.batch.count)
		st.Batches.MeanRows = Number(s.batch.mean())
	}
	if cr := f.closeReasons(); cr != nil {
		st.Batches.CloseReasons = map[string]int64{}
		for r, v := range cr {
			st.Batches.CloseReasons[r] = int64(v)
		}
	}
	s.latency = f.histogram(mLatency, nil)

	if mf := f[mStage]; mf != nil {
		st.Stages = map[string]Stage{}
		for _, m := range mf.GetMetric() {
			name := label(m, "stage")
			h := f.histogram(mStage, func(x *dto.Metric) bool { return label(x, "stage") == name })
			st.Stages[name] = Stage{P50: Number(h.quantile(0.5)), P99: Number(h.quantile(0.99))}
		}
	}

	committed := map[string]float64{}
	if mf := f[mCommitted]; mf != nil {
		for _, m := range mf.GetMetric() {
			committed[label(m, "topic")+"\x00"+label(m, "partition")] = value(m)
		}
	}
	if mf := f[mLag]; mf != nil {
		var total float64
		for _, m := range mf.GetMetric() {
			p, _ := strconv.Atoi(label(m, "partition"))
			v := value(m)
			total += v
			st.Lag = append(st.Lag, Lag{Topic: label(m, "topic"), Partition: p, Lag: int64(v), Committed: int64(committed[label(m, "topic")+"\x00"+label(m, "partition")])})
		}
		sort.Slice(st.Lag, func(i, j int) bool {
			if st.Lag[i].Topic != st.Lag[j].Topic {
				return st.Lag[i].Topic < st.Lag[j].Topic
			}
			return st.Lag[i].Partition < st.Lag[j].Partition
		})
		st.LagTotal = Number(total)
	} else {
		st.LagTotal = Number(math.NaN())
	}

	if mf := f[mModelActive]; mf != nil {
		ms := &Models{Agreement: Number(math.NaN())}
		rows := map[string]float64{}
		if rf := f[mModelRows]; rf != nil {
			for _, m := range rf.GetMetric() {
				rows[label(m, "model")+"\x00"+label(m, "role")+"\x00"+label(m, "version")] += value(m)
			}
		}
		for _, m := range mf.GetMetric() {
			name, role, ver := label(m, "model"), label(m, "role"), label(m, "version")
			ms.Active = append(ms.Active, ModelVersion{Model: name, Role: role, Version: ver, Share: Number(value(m)), Rows: int64(rows[name+"\x00"+role+"\x00"+ver])})
		}
		rank := map[string]int{"champion": 0, "canary": 1, "challenger": 2}
		sort.Slice(ms.Active, func(i, j int) bool { return rank[ms.Active[i].Role] < rank[ms.Active[j].Role] })
		c, _ := f.sum(mCompared)
		a, _ := f.sum(mAgreed)
		fb, _ := f.sum(mCanaryFallback)
		ms.Compared, ms.Agreed, ms.CanaryFallback = int64(c), int64(a), int64(fb)
		if c > 0 {
			ms.Agreement = Number(a / c)
		}
		st.Models = ms
	}

	if mf := f[mDriftScore]; mf != nil {
		cols := map[string]*Drift{}
		get := func(m *dto.Metric) *Drift {
			k := driftKey(label(m, "model"), label(m, "version"), label(m, "feature"))
			d := cols[k]
			if d == nil {
				d = &Drift{Model: label(m, "model"), Version: label(m, "version"), Column: label(m, "feature"), Scores: map[string]Number{}}
				cols[k] = d
			}
			return d
		}
		for _, m := range mf.GetMetric() {
			get(m).Scores[label(m, "score")] = Number(value(m))
		}
		if tf := f[mDriftThreshold]; tf != nil {
			for _, m := range tf.GetMetric() {
				d := get(m)
				if d.Thresholds == nil {
					d.Thresholds = map[string]Number{}
				}
				d.Thresholds[label(m, "score")] = Number(value(m))
			}
		}
		if af := f[mDriftAlert]; af != nil {
			for _, m := range af.GetMetric() {
				get(m).Drifting = value(m) == 1
			}
		}
		for k, d := range cols {
			d.Score = primaryScore(d.Scores, d.Thresholds)
			d.Value = Number(math.NaN())
			d.Threshold = Number(math.NaN())
			if v, ok := d.Scores[d.Score]; ok {
				d.Value = v
				s.drift[k] = float64(v)
			}
			if t, ok := d.Thresholds[d.Score]; ok {
				d.Threshold = t
			}
			st.Drift = append(st.Drift, *d)
		}
		sortDrift(st.Drift)
	}

	if _, ok := f.sum(mLookups); ok {
		fs := &Features{HitRatio: Number(math.NaN())}
		l, _ := f.sum(mLookups)
		h, _ := f.sum(mHits)
		fs.Lookups, fs.Hits = int64(l), int64(h)
		if l > 0 {
			fs.HitRatio = Number(h / l)
		}
		s.fErrors, _ = f.sum(mFeatureErrors)
		fs.Errors = int64(s.fErrors)
		p, _ := f.sum(mFeaturePaused)
		fs.Paused = p > 0
		s.redis = f.histogram(mRedisSeconds, nil)
		st.Features = fs
	}

	if _, ok := f.sum(mServeRequests); ok {
		sv := &Serve{}
		s.requests, _ = f.sum(mServeRequests)
		e, _ := f.sum(mServeEvents)
		sv.Requests, sv.Events = int64(s.requests), int64(e)
		sv.Rejected = int64(f.by(mServeEvents, "result")["rejected"])
		sv.MeanBatch = Number(f.histogram(mServeBatchRows, nil).mean())
		sv.P99 = Number(f.histogram(mServeDuration, nil).quantile(0.99))
		st.Serve = sv
	}
	return st, s
}

// sortDrift puts drifting columns first, then the highest score relative to
// its threshold (or the highest score), then by name.
func sortDrift(ds []Drift) {
	rel := func(d *Drift) float64 {
		v, t := float64(d.Value), float64(d.Threshold)
		if math.IsNaN(v) {
			return -1
		}
		if t > 0 && !math.IsNaN(t) {
			return v / t
		}
		return v
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := &ds[i], &ds[j]
		if a.Drifting != b.Drifting {
			return a.Drifting
		}
		if ra, rb := rel(a), rel(b); ra != rb {
			return ra > rb
		}
		if a.Model+a.Version != b.Model+b.Version {
			return a.Model+a.Version < b.Model+b.Version
		}
		return a.Column < b.Column
	})
}

// finish fills the parts of st that need earlier samples (oldest first,
// cur excluded).
func finish(st *Status, cur *sample, past []*sample) {
	var prev *sample
	if len(past) > 0 {
		prev = past[len(past)-1]
	}
	rate := func(now, before float64) Number {
		if prev == nil || cur.at <= prev.at || now < before {
			return Number(math.NaN())
		}
		return Number((now - before) / (float64(cur.at-prev.at) / 1000))
	}
	var prevLat, prevBatch, prevRedis *hist
	if prev != nil {
		st.Throughput.InRate = rate(cur.in, prev.in)
		st.Throughput.OutRate = rate(cur.out, prev.out)
		prevLat, prevBatch, prevRedis = prev.latency, prev.batch, prev.redis
	} else {
		st.Throughput.InRate, st.Throughput.OutRate = Number(math.NaN()), Number(math.NaN())
	}
	lat := cur.latency.sub(prevLat)
	if lat != nil && lat.count == 0 {
		lat = cur.latency // nothing new: show all-time rather than nothing
	}
	st.Latency = Quantiles{P50: Number(lat.quantile(0.5)), P90: Number(lat.quantile(0.9)), P99: Number(lat.quantile(0.99))}
	if lat != nil {
		st.Latency.Count = int64(lat.count)
	}
	b := cur.batch.sub(prevBatch)
	if b != nil && b.count == 0 {
		b = cur.batch
	}
	st.Batches.P50Rows, st.Batches.P99Rows = Number(b.quantile(0.5)), Number(b.quantile(0.99))

	all := append(append([]*sample{}, past...), cur)
	for i := 1; i < len(all); i++ {
		dt := float64(all[i].at-all[i-1].at) / 1000
		if dt <= 0 {
			continue
		}
		st.Throughput.InSpark = append(st.Throughput.InSpark, Number(math.Max(0, all[i].in-all[i-1].in)/dt))
		st.Throughput.OutSpark = append(st.Throughput.OutSpark, Number(math.Max(0, all[i].out-all[i-1].out)/dt))
	}
	for i := range st.Drift {
		d := &st.Drift[i]
		k := driftKey(d.Model, d.Version, d.Column)
		for _, s := range all {
			if v, ok := s.drift[k]; ok {
				d.Spark = append(d.Spark, Number(v))
			}
		}
	}
	if fs := st.Features; fs != nil {
		if prev != nil {
			fs.RecentErrors = int64(cur.fErrors - prev.fErrors)
		}
		r := cur.redis.sub(prevRedis)
		if r != nil && r.count == 0 {
			r = cur.redis
		}
		fs.RedisP50, fs.RedisP99 = Number(r.quantile(0.5)), Number(r.quantile(0.99))
		fs.RedisOK = fs.RecentErrors == 0 && !fs.Paused
	}
	if sv := st.Serve; sv != nil {
		if prev != nil {
			sv.Rate = rate(cur.requests, prev.requests)
		} else {
			sv.Rate = Number(math.NaN())
		}
	}
}
