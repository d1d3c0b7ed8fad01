package drift

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/schemas"
)

// Monitor folds scored batches into per-bucket histograms, flushes them to
// a Store, and evaluates the shared window. ObserveBatch is safe for
// concurrent use and never blocks on I/O; Run owns the flushing and
// evaluation and must be running for counts to reach the store.
type Monitor struct {
	cfg   Config
	base  *Baseline
	lay   *layout
	store Store
	sink  EventSink
	log   *slog.Logger
	m     *metrics

	mu      sync.Mutex
	pending map[bucketKey]*pendingBucket
	active  map[modelKey]int64 // latest bucket start observed
	sel     []int32
	down    bool // the last flush failed

	evalMu   sync.Mutex
	evalDown bool // the last evaluation failed
}

type modelKey struct{ model, version string }

type bucketKey struct {
	modelKey
	start int64
}

type pendingBucket struct {
	counts []int64
	events int64
}

// NewMonitor returns a monitor of the columns of base for batches of spec,
// writing to store and raising events on sink (nil: events are only
// logged). log and reg may be nil.
func NewMonitor(cfg Config, base *Baseline, spec *schemas.Spec, store Store, sink EventSink, log *slog.Logger, reg prometheus.Registerer) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring drift: %w", err)
	}
	cfg = cfg.WithDefaults()
	if store == nil {
		return nil, errors.New("configuring drift: a store is required")
	}
	if err := base.Validate(); err != nil {
		return nil, fmt.Errorf("configuring drift: baseline: %w", err)
	}
	lay, err := newLayout(base, spec)
	if err != nil {
		return nil, fmt.Errorf("configuring drift: %w", err)
	}
	if cfg.ReplicaID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		cfg.ReplicaID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{
		cfg: cfg, base: base, lay: lay, store: store, sink: sink,
		log: log.With("component", "drift"), m: newMetrics(reg),
		pending: map[bucketKey]*pendingBucket{}, active: map[modelKey]int64{},
	}, nil
}

// Namespace returns the namespace of model's version.
func (m *Monitor) Namespace(model, version string) Namespace {
	return Namespace{Prefix: m.cfg.Prefix, Model: model, Version: version, Baseline: m.base.ID()}
}

func (m *Monitor) bucketStart(t time.Time) int64 {
	return bucketStart(t, m.cfg.Bucket)
}

func bucketStart(t time.Time, bucket time.Duration) int64 {
	ms, b := t.UnixMilli(), bucket.Milliseconds()
	r := ms % b
	if r < 0 {
		r += b
	}
	return ms - r
}

// ttl is how long a bucket's keys live: the window plus one bucket.
func (m *Monitor) ttl() time.Duration { return time.Duration(m.cfg.Window+1) * m.cfg.Bucket }

// ObserveBatch folds the scored rows of b into the current bucket of their
// model version. It runs on the engine's inference goroutine: it takes a
// mutex held only by other in-memory work, does no I/O, and allocates only
// when a new bucket starts.
func (m *Monitor) ObserveBatch(b *schemas.ScoredBatch) {
	if b == nil || b.Decoded == nil || b.Decoded.Record == nil {
		return
	}
	n := int(b.Decoded.Record.NumRows())
	if n == 0 {
		return
	}
	start := m.bucketStart(m.cfg.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if b.Versions == nil {
		m.foldRows(b, modelKey{b.Model, b.ModelVersion}, start, m.selectRows(b, n, nil))
		return
	}
	// A canary splits the batch between versions: each has its window.
	var buf [4]string
	versions := buf[:0]
	for r := range n {
		if v := b.Versions[r]; !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	for _, v := range versions {
		m.foldRows(b, modelKey{b.Model, v}, start, m.selectRows(b, n, &v))
	}
}

// selectRows lists the scored record rows (of version, if not nil) in the
// scratch slice.
func (m *Monitor) selectRows(b *schemas.ScoredBatch, n int, version *string) []int32 {
	sel := m.sel[:0]
	for r := range n {
		if !b.RowOK(r) || (version != nil && b.Versions[r] != *version) {
			continue
		}
		sel = append(sel, int32(r))
	}
	m.sel = sel
	return sel
}

func (m *Monitor) foldRows(b *schemas.ScoredBatch, mk modelKey, start int64, rows []int32) {
	if len(rows) == 0 {
		return
	}
	key := bucketKey{mk, start}
	pb := m.pending[key]
	if pb == nil {
		m.makeRoom()
		pb = &pendingBucket{counts: make([]int64, m.lay.width)}
		m.pending[key] = pb
		m.m.pending.Set(float64(len(m.pending)))
	}
	m.lay.fold(pb.counts, b, rows)
	pb.events += int64(len(rows))
	m.m.observed.Add(float64(len(rows)))
	if m.active[mk] < start {
		m.active[mk] = start
	}
}

// makeRoom drops the oldest pending buckets until one more fits. m.mu is
// held.
func (m *Monitor) makeRoom() {
	for len(m.pending) >= m.cfg.MaxPendingBuckets {
		var oldest bucketKey
		first := true
		for k := range m.pending {
			if first || k.start < oldest.start {
				oldest, first = k, false
			}
		}
		m.m.lost.WithLabelValues("overflow").Add(float64(m.pending[oldest].events))
		delete(m.pending, oldest)
	}
}

// Flush sends every pending count to the store in one round trip. On
// failure the counts are kept for the next flush (within
// Config.MaxPendingBuckets; buckets too old to fall in any window are
// dropped and counted as lost).
func (m *Monitor) Flush(ctx context.Context) error {
	m.mu.Lock()
	taken := m.pending
	if len(taken) > 0 {
		m.pending = make(map[bucketKey]*pendingBucket, len(taken))
	}
	m.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	buckets := make([]BucketCounts, 0, len(taken))
	names := make([]string, len(m.base.Columns))
	for i := range m.base.Columns {
		names[i] = m.base.Columns[i].Name
	}
	for k, pb := range taken {
		bc := BucketCounts{NS: m.Namespace(k.model, k.version), Start: k.start, Events: pb.events, Names: names, Columns: make([]Histogram, len(m.lay.cols))}
		for i := range m.lay.cols {
			bc.Columns[i] = m.lay.histogram(pb.counts, i)
		}
		buckets = append(buckets, bc)
	}
	t0 := time.Now()
	err := m.store.Add(ctx, buckets, m.ttl())
	m.m.flushTime.Observe(time.Since(t0).Seconds())
	if err == nil {
		m.m.flushes.WithLabelValues("ok").Inc()
		m.mu.Lock()
		m.m.pending.Set(float64(len(m.pending)))
		m.mu.Unlock()
		return nil
	}
	m.m.flushes.WithLabelValues("error").Inc()
	m.restore(taken)
	return err
}

// restore puts counts whose flush failed back, merging them with counts
// observed since. Newer buckets win the room MaxPendingBuckets leaves.
func (m *Monitor) restore(taken map[bucketKey]*pendingBucket) {
	oldest := m.bucketStart(m.cfg.Now()) - int64(m.cfg.Window-1)*m.cfg.Bucket.Milliseconds()
	keys := make([]bucketKey, 0, len(taken))
	for k := range taken {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b bucketKey) int { return cmp.Compare(b.start, a.start) })
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		pb := taken[k]
		if k.start < oldest {
			m.m.lost.WithLabelValues("expired").Add(float64(pb.events))
			continue
		}
		if cur := m.pending[k]; cur != nil {
			for i, c := range pb.counts {
				cur.counts[i] += c
			}
			cur.events += pb.events
			continue
		}
		if len(m.pending) >= m.cfg.MaxPendingBuckets && !m.olderPending(k.start) {
			m.m.lost.WithLabelValues("overflow").Add(float64(pb.events))
			continue
		}
		m.makeRoom()
		m.pending[k] = pb
	}
	m.m.pending.Set(float64(len(m.pending)))
}

// olderPending reports whether a pending bucket starts before start. m.mu
// is held.
func (m *Monitor) olderPending(start int64) bool {
	for k := range m.pending {
		if k.start < start {
			return true
		}
	}
	return false
}

// Pending returns the number of events held locally, not yet flushed.
func (m *Monitor) Pending() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, pb := range m.pending {
		n += pb.events
	}
	return n
}

// Run flushes every Config.FlushInterval and evaluates every
// Config.EvaluateInterval until ctx is done, then flushes once more (for at
// most Config.StoreTimeout) and returns nil. Store failures are logged and
// retried; they never end Run.
func (m *Monitor) Run(ctx context.Context) error {
	ft := time.NewTicker(m.cfg.FlushInterval)
	defer ft.Stop()
	et := time.NewTicker(m.cfg.EvaluateInterval)
	defer et.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.StoreTimeout)
			err := m.Flush(fctx)
			cancel()
			if err != nil {
				n := m.Pending()
				m.m.lost.WithLabelValues("shutdown").Add(float64(n))
				m.log.Warn("final drift flush failed; these counts are lost", "events", n, "err", err)
			}
			return nil
		case <-ft.C:
			m.flushLogged(ctx)
		case <-et.C:
			m.flushLogged(ctx)
			m.EvaluateAll(ctx)
		}
	}
}

// flushLogged flushes, logging the first failure and the recovery.
func (m *Monitor) flushLogged(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, m.cfg.StoreTimeout)
	err := m.Flush(fctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	was := m.down
	m.down = err != nil
	m.mu.Unlock()
	switch {
	case err != nil && !was:
		m.log.Warn("drift store unreachable; keeping counts locally and retrying", "pending_events", m.Pending(), "err", err)
	case err != nil:
		m.log.Debug("drift store still unreachable", "pending_events", m.Pending(), "err", err)
	case was:
		m.log.Info("drift store reachable again; pending counts flushed")
	}
}

// EvaluateAll evaluates the window of every model version observed within
// the last window and returns their statuses. Errors are logged.
func (m *Monitor) EvaluateAll(ctx context.Context) []*Status {
	now := m.cfg.Now()
	oldest := m.bucketStart(now) - int64(m.cfg.Window)*m.cfg.Bucket.Milliseconds()
	m.mu.Lock()
	var keys []modelKey
	for k, last := range m.active {
		if last > oldest {
			keys = append(keys, k)
		} else {
			delete(m.active, k)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(keys, func(a, b modelKey) int {
		if a.model != b.model {
			return cmpString(a.model, b.model)
		}
		return cmpString(a.version, b.version)
	})
	var out []*Status
	var failed error
	for _, k := range keys {
		st, err := m.Evaluate(ctx, k.model, k.version)
		if err != nil {
			failed = fmt.Errorf("model %s version %s: %w", k.model, k.version, err)
			continue
		}
		out = append(out, st)
	}
	if ctx.Err() != nil {
		return out
	}
	// Log the first failure and the recovery, not every evaluation.
	m.evalMu.Lock()
	was := m.evalDown
	m.evalDown = failed != nil
	m.evalMu.Unlock()
	switch {
	case failed != nil && !was:
		m.log.Warn("evaluating drift failed; retrying at every evaluation", "err", failed)
	case failed != nil:
		m.log.Debug("evaluating drift still failing", "err", failed)
	case was:
		m.log.Info("evaluating drift works again")
	}
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Evaluate scores model version's window, updates the gauges and, if this
// process holds the lease, raises a drift event and a log line for every
// column whose state changes, and records the scores in the history.
func (m *Monitor) Evaluate(ctx context.Context, model, version string) (*Status, error) {
	ns := m.Namespace(model, version)
	now := m.cfg.Now()
	cctx, cancel := context.WithTimeout(ctx, m.cfg.StoreTimeout)
	defer cancel()
	st, err := ReadStatus(cctx, m.store, m.base, ns, m.cfg, now)
	if err != nil {
		return nil, err
	}
	m.m.windowEv.WithLabelValues(model, version).Set(float64(st.Events))
	for i := range st.Columns {
		cs := &st.Columns[i]
		for s, v := range cs.Scores {
			m.m.score.WithLabelValues(model, version, cs.Column.Name, Score(s).String()).Set(v)
		}
		for s, t := range cs.Thresholds {
			m.m.threshold.WithLabelValues(model, version, cs.Column.Name, s.String()).Set(t.Alert)
		}
	}
	leader, err := m.store.Lead(cctx, ns, m.cfg.ReplicaID, 3*m.cfg.EvaluateInterval+m.cfg.StoreTimeout)
	if err != nil {
		return st, err
	}
	st.Leader = leader
	if !leader {
		m.m.leader.WithLabelValues(model, version).Set(0)
		m.setAlertGauges(st)
		return st, nil
	}
	m.m.leader.WithLabelValues(model, version).Set(1)
	if st.Enough {
		if err := m.transition(cctx, st, now); err != nil {
			m.setAlertGauges(st)
			return st, err
		}
	}
	m.setAlertGauges(st)
	hp := HistoryPoint{At: now.UnixMilli(), Events: st.Events, Scores: map[string]Scores{}}
	for i := range st.Columns {
		hp.Scores[st.Columns[i].Column.Name] = st.Columns[i].Scores
	}
	keep := max(time.Duration(m.cfg.History)*m.cfg.EvaluateInterval, m.ttl()) * 2
	if err := m.store.AppendHistory(cctx, ns, hp, m.cfg.History, keep); err != nil {
		return st, err
	}
	return st, nil
}

func (m *Monitor) setAlertGauges(st *Status) {
	for i := range st.Columns {
		v := 0.0
		if st.Columns[i].State.Drift {
			v = 1
		}
		m.m.alert.WithLabelValues(st.NS.Model, st.NS.Version, st.Columns[i].Column.Name).Set(v)
	}
}

// transition applies the thresholds to st's scores, publishes an event per
// changed column, and stores the new states (only once the events are
// published, so a failed publish is retried at the next evaluation).
func (m *Monitor) transition(ctx context.Context, st *Status, now time.Time) error {
	type change struct {
		i    int
		next ColumnState
	}
	var changes []change
	var events []Event
	for i := range st.Columns {
		cs := &st.Columns[i]
		next := nextState(cs.State, cs.Scores, cs.Thresholds)
		if next.Drift == cs.State.Drift && slices.Equal(next.Alerting, cs.State.Alerting) {
			continue
		}
		if next.Drift != cs.State.Drift {
			next.Since = now.UnixMilli()
			events = append(events, m.event(st, cs, next, now))
		}
		changes = append(changes, change{i, next})
	}
	if len(changes) == 0 {
		return nil
	}
	if len(events) > 0 && m.sink != nil {
		if err := m.sink.Publish(ctx, events); err != nil {
			return err
		}
	}
	for _, e := range events {
		m.m.transitions.WithLabelValues(e.Type).Inc()
		args := []any{"model", e.Model, "version", e.ModelVersion, "feature", e.Feature, "alerting", e.Alerting, "window_events", e.WindowEvents}
		for _, s := range []Score{PSI, KS, JS, Wasserstein, ChiSquaredP, MissingRate} {
			if v, ok := e.Scores[s.String()]; ok {
				args = append(args, s.String(), round(v))
			}
		}
		if e.Type == EventDetected {
			m.log.Warn("drift detected", args...)
		} else {
			m.log.Info("drift cleared", args...)
		}
	}
	var errs []error
	for _, c := range changes {
		cs := &st.Columns[c.i]
		if err := m.store.SetState(ctx, st.NS, cs.Column.Name, c.next); err != nil {
			errs = append(errs, err)
			continue
		}
		cs.State = c.next
	}
	return errors.Join(errs...)
}

func round(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	return math.Round(v*1e6) / 1e6
}

func (m *Monitor) event(st *Status, cs *ColumnStatus, next ColumnState, now time.Time) Event {
	typ, alerting := EventCleared, cs.State.Alerting
	if next.Drift {
		typ, alerting = EventDetected, next.Alerting
	}
	th := map[string]Threshold{}
	for s, t := range cs.Thresholds {
		th[s.String()] = t
	}
	return Event{
		Type: typ, Model: st.NS.Model, ModelVersion: st.NS.Version, Baseline: st.NS.Baseline,
		Feature: cs.Column.Name, Source: cs.Column.Source, Kind: cs.Column.Kind,
		Scores: finiteScores(cs.Scores), Alerting: alerting, Thresholds: th,
		WindowStart: st.Start.UnixMilli(), WindowEnd: st.End.UnixMilli(), WindowEvents: st.Events, At: now.UnixMilli(),
	}
}

// nextState applies thresholds to scores from prev: a score not in alert
// enters it when it crosses its Alert level; a score in alert leaves it when
// it recovers past its Clear level; a NaN score keeps its state. The column
// is in drift while any score is in alert.
func nextState(prev ColumnState, s Scores, th map[Score]Threshold) ColumnState {
	alerting := map[Score]bool{}
	for _, n := range prev.Alerting {
		if sc, err := ParseScore(n); err == nil {
			if _, ok := th[sc]; ok {
				alerting[sc] = true
			}
		}
	}
	for sc, t := range th {
		v := s[sc]
		if math.IsNaN(v) {
			continue
		}
		if alerting[sc] {
			if t.recovered(sc, v) {
				delete(alerting, sc)
			}
		} else if t.crossed(sc, v) {
			alerting[sc] = true
		}
	}
	next := ColumnState{Since: prev.Since}
	for sc := range NumScores {
		if alerting[sc] {
			next.Alerting = append(next.Alerting, sc.String())
		}
	}
	next.Drift = len(next.Alerting) > 0
	return next
}
