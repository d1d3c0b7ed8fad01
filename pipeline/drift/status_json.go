package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// statusColumnJSON is one column of WriteStatusJSON's document.
type statusColumnJSON struct {
	Feature    string               `json:"feature"`
	Source     Source               `json:"source"`
	Kind       Kind                 `json:"kind"`
	State      string               `json:"state"`
	Alerting   []string             `json:"alerting,omitempty"`
	Events     int64                `json:"events"`
	Scores     map[string]float64   `json:"scores"`
	Thresholds map[string]Threshold `json:"thresholds"`
}

// WriteStatusJSON prints st as one indented JSON object with snake_case
// keys: the namespace, the window, and per column its state, events,
// finite scores and thresholds.
func WriteStatusJSON(w io.Writer, st *Status) error {
	out := struct {
		Model        string             `json:"model"`
		ModelVersion string             `json:"model_version"`
		Baseline     string             `json:"baseline"`
		WindowStart  time.Time          `json:"window_start"`
		WindowEnd    time.Time          `json:"window_end"`
		Events       int64              `json:"events"`
		Columns      []statusColumnJSON `json:"columns"`
	}{st.NS.Model, st.NS.Version, st.NS.Baseline, st.Start.UTC(), st.End.UTC(), st.Events, nil}
	for i := range st.Columns {
		cs := &st.Columns[i]
		c := statusColumnJSON{
			Feature: cs.Column.Name, Source: cs.Column.Source, Kind: cs.Column.Kind, State: st.StateLabel(cs),
			Alerting: cs.State.Alerting, Events: cs.Current.Total(), Scores: map[string]float64{}, Thresholds: map[string]Threshold{},
		}
		for s, v := range cs.Scores {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				c.Scores[Score(s).String()] = v
			}
		}
		for s, th := range cs.Thresholds {
			c.Thresholds[s.String()] = th
		}
		out.Columns = append(out.Columns, c)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Drifting counts st's columns in drift.
func (st *Status) Drifting() int {
	n := 0
	for i := range st.Columns {
		if st.Columns[i].State.Drift {
			n++
		}
	}
	return n
}

// WriteReportFile reads the window of ns and its evaluation history from
// store and writes the HTML report to path. It returns the status it
// reported.
func WriteReportFile(ctx context.Context, path string, store Store, base *Baseline, ns Namespace, cfg Config, now time.Time) (*Status, error) {
	st, err := ReadStatus(ctx, store, base, ns, cfg, now)
	if err != nil {
		return nil, err
	}
	hist, err := store.History(ctx, ns)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("writing report: %w", err)
	}
	smoothing := cfg.Smoothing
	if smoothing == 0 {
		smoothing = -1 // none, as configured
	}
	if err := WriteReport(f, st, ReportOptions{History: hist, Generated: now, Smoothing: smoothing}); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing report: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing report: %w", err)
	}
	return st, nil
}
