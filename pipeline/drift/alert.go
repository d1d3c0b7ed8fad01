package drift

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"
)

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
