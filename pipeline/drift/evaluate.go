package drift

import (
	"context"
	"fmt"
	"slices"
	"time"
)

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
