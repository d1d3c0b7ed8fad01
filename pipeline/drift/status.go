package drift

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is one evaluation of a window.
type Status struct {
	NS Namespace
	// Start and End bound the window: the start of its oldest bucket and
	// the end of the current one.
	Start, End time.Time
	// Events counts the events in the window, every replica's.
	Events int64
	// Enough reports whether Events reaches Config.MinEvents, below which
	// states do not change.
	Enough bool
	// Leader reports whether this process raised events for the window.
	Leader bool
	// Buckets are the window's buckets, oldest first.
	Buckets []BucketCounts
	Columns []ColumnStatus
}

// ColumnStatus is one column of a Status.
type ColumnStatus struct {
	Column *Column
	// Current is the window's histogram.
	Current    Histogram
	Scores     Scores
	Thresholds map[Score]Threshold
	// State is the stored alert state (after this evaluation's change, if
	// any, for the leader).
	State ColumnState
}

// windowStarts returns the starts of the Window buckets ending with the one
// holding now, oldest first.
func windowStarts(now time.Time, cfg Config) []int64 {
	cur := bucketStart(now, cfg.Bucket)
	b := cfg.Bucket.Milliseconds()
	out := make([]int64, cfg.Window)
	for i := range out {
		out[i] = cur - int64(cfg.Window-1-i)*b
	}
	return out
}

// ReadStatus reads ns's window as of now from store and scores every column
// of base against it. It changes nothing in the store; `drift status` and
// Monitor.Evaluate both use it.
func ReadStatus(ctx context.Context, store Store, base *Baseline, ns Namespace, cfg Config, now time.Time) (*Status, error) {
	cfg = cfg.WithDefaults()
	starts := windowStarts(now, cfg)
	buckets, err := store.Read(ctx, ns, base.Columns, starts)
	if err != nil {
		return nil, err
	}
	states, err := store.States(ctx, ns)
	if err != nil {
		return nil, err
	}
	st := &Status{
		NS: ns, Buckets: buckets,
		Start: time.UnixMilli(starts[0]), End: time.UnixMilli(starts[len(starts)-1]).Add(cfg.Bucket),
	}
	for _, b := range buckets {
		st.Events += b.Events
	}
	st.Enough = st.Events >= cfg.MinEvents
	for i := range base.Columns {
		c := &base.Columns[i]
		cur := Histogram{Counts: make([]int64, c.Bins())}
		for _, b := range buckets {
			cur.Add(b.Columns[i])
		}
		st.Columns = append(st.Columns, ColumnStatus{
			Column: c, Current: cur,
			Scores:     Compare(c, c.Reference(), cur, cfg.Smoothing),
			Thresholds: cfg.Thresholds.For(c.Name),
			State:      states[c.Name],
		})
	}
	return st, nil
}

// primaryScore is the score a table shows first for a column: the first
// one it alerts on, else the first thresholded one, else PSI.
func (cs *ColumnStatus) primaryScore() Score {
	for _, n := range cs.State.Alerting {
		if s, err := ParseScore(n); err == nil {
			return s
		}
	}
	if order := scoreOrder(cs.Thresholds); len(order) > 0 {
		return order[0]
	}
	return PSI
}

// StateLabel returns "DRIFT", "ok", or "no data" for a column.
func (st *Status) StateLabel(cs *ColumnStatus) string {
	switch {
	case cs.State.Drift:
		return "DRIFT"
	case !st.Enough:
		return "no data"
	}
	return "ok"
}

// WriteTable writes st as a table: per column, its kind, its main score
// and threshold, its state, the events in the window, and every score.
func WriteTable(w io.Writer, st *Status) error {
	fmt.Fprintf(w, "model %s  version %s  baseline %s\n", st.NS.Model, st.NS.Version, st.NS.Baseline)
	fmt.Fprintf(w, "window %s – %s  (%d buckets)  events %d\n\n",
		st.Start.Local().Format("2006-01-02 15:04:05"), st.End.Local().Format("15:04:05"), len(st.Buckets), st.Events)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tKIND\tSCORE\tTHRESHOLD\tSTATE\tEVENTS\tPSI\tKS\tJS\tWASS\tCHI2 P\tMISSING Δ\t")
	for i := range st.Columns {
		cs := &st.Columns[i]
		kind := string(cs.Column.Kind)
		if cs.Column.Source == FromOutput {
			kind = "prediction"
		}
		ps := cs.primaryScore()
		th := "-"
		if t, ok := cs.Thresholds[ps]; ok {
			op := "≥"
			if !ps.HigherIsWorse() {
				op = "≤"
			}
			th = fmt.Sprintf("%s %s (clear %s)", op, fmtScore(t.Alert), fmtScore(t.Clear))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			cs.Column.Name, kind, ps, fmtScore(cs.Scores[ps]), th, st.StateLabel(cs), cs.Current.Total(),
			fmtScore(cs.Scores[PSI]), fmtScore(cs.Scores[KS]), fmtScore(cs.Scores[JS]),
			fmtScore(cs.Scores[Wasserstein]), fmtScore(cs.Scores[ChiSquaredP]), fmtScore(cs.Scores[MissingRate]))
	}
	return tw.Flush()
}

func fmtScore(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return "inf"
	case v != 0 && math.Abs(v) < 0.001:
		return strconv.FormatFloat(v, 'e', 1, 64)
	}
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', 4, 64), "0"), ".")
}
