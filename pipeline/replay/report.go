package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/streamscore/streamscore/schemas"
)

// Report is what a replay found. It holds nothing that depends on when or
// how fast the replay ran, so two replays of the same inputs give the same
// report.
type Report struct {
	// Source and Output name what was read and where rows went.
	Source string `json:"source"`
	Output string `json:"output,omitempty"`
	// Events is how many events ended as a scored row or a dead letter.
	Events int64 `json:"events"`
	// Scored is how many rows are in the outputs and metrics; Outside how
	// many scored rows were left out for an event time outside the range.
	Scored  int `json:"scored"`
	Outside int `json:"outside_time_range,omitempty"`
	// DeadLetters counts the events that could not be scored, by reason;
	// DeadLetterExamples quotes the first few.
	DeadLetters        []ReasonCount       `json:"dead_letters"`
	DeadLetterExamples []DeadLetterExample `json:"dead_letter_examples,omitempty"`
	// FeaturesMissing counts rows scored with feature-set defaults because
	// the store had no value (FeaturesRedis only).
	FeaturesMissing int `json:"features_missing,omitempty"`
	// Label is the label field; Labeled, Unlabeled and BadLabels count the
	// scored rows with a label, without one, and with one that is not a
	// number or a boolean (left out of metrics).
	Label     string `json:"label,omitempty"`
	Labeled   int    `json:"labeled"`
	Unlabeled int    `json:"unlabeled"`
	BadLabels int    `json:"unreadable_labels"`
	// Task is the task the metrics were computed for, never TaskAuto.
	Task      Task    `json:"task"`
	Threshold float64 `json:"threshold"`
	Tolerance float64 `json:"tolerance"`
	// Models reports each model, champion first.
	Models []ModelReport `json:"models"`
	// Disagreements compares each challenger with the champion.
	Disagreements []Disagreement `json:"disagreements,omitempty"`
	// Notes explain metrics that could not be computed.
	Notes []string `json:"notes,omitempty"`
}

// ModelReport is one model's part of a Report.
type ModelReport struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Score names the output value the metrics use, e.g. probabilities[1].
	Score string `json:"score"`
	// Classifier or Regressor holds the metrics over labeled rows, by Task;
	// both are nil without labels.
	Classifier *ClassifierMetrics `json:"classifier,omitempty"`
	Regressor  *RegressorMetrics  `json:"regressor,omitempty"`
	// Histogram bins every scored row's score (split by label for a
	// labeled classifier).
	Histogram Histogram `json:"histogram"`
}

// accumulator folds scored rows, in order, into what the report needs: the
// label and each model's chosen score of every row, and row ids to name
// disagreements. It runs on the writer goroutine.
type accumulator struct {
	cfg    *Config
	sel    []selected
	widths []int
	labels []float64
	scores [][]float64
	ids    texts

	rows, outside, badLabels, featMissing int
}

func (a *accumulator) add(l *layout, r *rows) error {
	a.outside += r.outside
	a.badLabels += r.badLabels
	a.featMissing += r.featMissing
	if r.n == 0 {
		return nil
	}
	if a.sel == nil {
		sel, err := l.selectScores(a.cfg.Score)
		if err != nil {
			return err
		}
		a.sel = sel
		a.scores = make([][]float64, len(sel))
		for _, m := range l.models {
			for _, o := range m.outputs {
				a.widths = append(a.widths, o.width)
			}
		}
	}
	if len(l.models) > 1 { // ids only name disagreements
		for i := range r.n {
			a.ids.addBytes(r.ids.bytes(i))
		}
	}
	a.rows += r.n
	a.labels = append(a.labels, r.labels...)
	for m, s := range a.sel {
		w := a.widths[s.output]
		vals := r.outs[s.output]
		for i := range r.n {
			a.scores[m] = append(a.scores[m], vals[i*w+s.column])
		}
	}
	return nil
}

// report builds the report; l is nil if no row was scored.
func (a *accumulator) report(l *layout, events int64, dead map[schemas.Reason]int, examples []DeadLetterExample) *Report {
	cfg := a.cfg
	rep := &Report{
		Source: describe(cfg.Source), Events: events, Scored: a.rows, Outside: a.outside,
		DeadLetterExamples: examples, FeaturesMissing: a.featMissing, Label: cfg.Label, BadLabels: a.badLabels,
		Threshold: cfg.Threshold, Tolerance: cfg.Tolerance, DeadLetters: []ReasonCount{},
	}
	if cfg.Output != nil {
		rep.Output = cfg.Output.Describe()
	}
	for r, n := range dead {
		rep.DeadLetters = append(rep.DeadLetters, ReasonCount{Reason: string(r), Count: n})
	}
	slices.SortFunc(rep.DeadLetters, func(x, y ReasonCount) int { return strings.Compare(x.Reason, y.Reason) })

	var labeled []int
	binary := true
	for i, y := range a.labels {
		if math.IsNaN(y) {
			continue
		}
		labeled = append(labeled, i)
		if y != 0 && y != 1 {
			binary = false
		}
	}
	rep.Labeled = len(labeled)
	rep.Unlabeled = rep.Scored - rep.Labeled - rep.BadLabels
	if cfg.Label == "" {
		rep.Unlabeled = 0
	}

	unit := true
	for _, s := range a.scores {
		for _, v := range s {
			if !(v >= 0 && v <= 1) {
				unit = false
			}
		}
	}
	rep.Task = cfg.Task
	if rep.Task == TaskAuto {
		switch {
		case len(labeled) > 0 && binary, len(labeled) == 0 && unit:
			rep.Task = TaskClassifier
		default:
			rep.Task = TaskRegressor
		}
	}
	classifier := rep.Task == TaskClassifier
	if classifier && !binary {
		rep.Notes = append(rep.Notes, fmt.Sprintf("labels other than 0 and 1 were found in %q: classifier metrics need binary labels (replay with --task regressor for regression metrics)", cfg.Label))
	}
	if cfg.Label == "" {
		rep.Notes = append(rep.Notes, "no label field: metrics need --label FIELD")
	} else if len(labeled) == 0 && rep.Scored > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("no scored row has a label in %q", cfg.Label))
	}

	if l != nil {
		for m, ml := range l.models {
			mr := ModelReport{Name: ml.name, Version: ml.version}
			if a.sel != nil {
				mr.Score = a.sel[m].name
				mr.Histogram = a.histogram(m, classifier && binary)
				y, s, dropped := a.labeledScores(m, labeled)
				if dropped > 0 {
					rep.Notes = append(rep.Notes, fmt.Sprintf("model %s: %d labeled rows have a non-finite score and are left out of its metrics", ml.name, dropped))
				}
				switch {
				case len(y) == 0:
				case classifier && binary:
					cm := Classify(y, s, cfg.Threshold, cfg.Bins)
					mr.Classifier = &cm
					if !cm.LogLoss.Defined() {
						rep.Notes = append(rep.Notes, fmt.Sprintf("model %s: scores outside [0, 1], so log loss, Brier score and calibration are not computed (is %s a probability?)", ml.name, mr.Score))
					}
				case !classifier:
					rm := Regress(y, s)
					mr.Regressor = &rm
				}
			}
			rep.Models = append(rep.Models, mr)
		}
		if a.sel != nil {
			for k := 1; k < len(l.models); k++ {
				rep.Disagreements = append(rep.Disagreements, disagree(l.models[0].name, l.models[k].name,
					a.scores[0], a.scores[k], a.ids.at, classifier, cfg.Threshold, cfg.Tolerance))
			}
		}
	} else {
		for _, m := range cfg.Models {
			rep.Models = append(rep.Models, ModelReport{Name: m.Name, Version: m.Scorer.Version()})
		}
	}
	return rep
}

// labeledScores returns the labels and model m's scores of the labeled rows
// whose score is finite, and how many it left out.
func (a *accumulator) labeledScores(m int, labeled []int) (y, s []float64, dropped int) {
	y = make([]float64, 0, len(labeled))
	s = make([]float64, 0, len(labeled))
	for _, i := range labeled {
		v := a.scores[m][i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dropped++
			continue
		}
		y = append(y, a.labels[i])
		s = append(s, v)
	}
	return y, s, dropped
}

func (a *accumulator) histogram(m int, byLabel bool) Histogram {
	vals := a.scores[m]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if lo >= 0 && hi <= 1 {
		lo, hi = 0, 1
	}
	var labels []float64
	if byLabel {
		labels = a.labels
	}
	return newHistogram(vals, labels, lo, hi, histogramBins)
}

func describe(src any) string {
	if d, ok := src.(interface{ Describe() string }); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", src)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func fmtNum(n Number) string {
	if !n.Defined() {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", float64(n))
}

func fmtPct(n Number) string {
	if !n.Defined() {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n))
}

// WriteText writes the report as tables for a terminal, naming at most
// maxIDs disagreeing rows per challenger (0 names none, -1 all).
func (r *Report) WriteText(w io.Writer, maxIDs int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "replayed %s\n", r.Source)
	dead := 0
	var reasons []string
	for _, d := range r.DeadLetters {
		dead += d.Count
		reasons = append(reasons, fmt.Sprintf("%s %d", d.Reason, d.Count))
	}
	fmt.Fprintf(&b, "events: %d, scored: %d, dead letters: %d", r.Events, r.Scored, dead)
	if len(reasons) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(reasons, ", "))
	}
	if r.Outside > 0 {
		fmt.Fprintf(&b, ", outside the time range: %d", r.Outside)
	}
	b.WriteString("\n")
	for _, e := range r.DeadLetterExamples[:min(3, len(r.DeadLetterExamples))] {
		fmt.Fprintf(&b, "  dead letter: %s partition %d offset %d: %s %s %s\n", e.Source, e.Partition, e.Offset, e.Reason, e.Field, e.Detail)
	}
	if r.FeaturesMissing > 0 {
		fmt.Fprintf(&b, "rows scored with feature-set defaults (store miss): %d\n", r.FeaturesMissing)
	}
	if r.Label != "" {
		fmt.Fprintf(&b, "labels (%s): %d labeled, %d without, %d unreadable\n", r.Label, r.Labeled, r.Unlabeled, r.BadLabels)
	}
	if r.Output != "" {
		fmt.Fprintf(&b, "scored rows written to %s\n", r.Output)
	}
	switch r.Task {
	case TaskClassifier:
		fmt.Fprintf(&b, "task: classifier, decision threshold %g\n", r.Threshold)
	default:
		fmt.Fprintf(&b, "task: regressor\n")
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	header := []string{"model"}
	score := []string{"score"}
	version := []string{"version"}
	for _, m := range r.Models {
		header = append(header, m.Name)
		score = append(score, m.Score)
		version = append(version, m.Version)
	}
	row(header...)
	row(version...)
	row(score...)
	metric := func(name string, get func(m ModelReport) string) {
		cells := []string{name}
		some := false
		for _, m := range r.Models {
			v := get(m)
			some = some || v != ""
			cells = append(cells, v)
		}
		if some {
			row(cells...)
		}
	}
	cls := func(f func(c *ClassifierMetrics) string) func(ModelReport) string {
		return func(m ModelReport) string {
			if m.Classifier == nil {
				return ""
			}
			return f(m.Classifier)
		}
	}
	reg := func(f func(c *RegressorMetrics) string) func(ModelReport) string {
		return func(m ModelReport) string {
			if m.Regressor == nil {
				return ""
			}
			return f(m.Regressor)
		}
	}
	metric("rows", cls(func(c *ClassifierMetrics) string { return fmt.Sprint(c.Rows) }))
	metric("positives", cls(func(c *ClassifierMetrics) string { return fmt.Sprint(c.Positives) }))
	metric("ROC AUC", cls(func(c *ClassifierMetrics) string { return fmtNum(c.ROCAUC) }))
	metric("PR AUC (AP)", cls(func(c *ClassifierMetrics) string { return fmtNum(c.PRAUC) }))
	metric("log loss", cls(func(c *ClassifierMetrics) string { return fmtNum(c.LogLoss) }))
	metric("Brier", cls(func(c *ClassifierMetrics) string { return fmtNum(c.Brier) }))
	metric("accuracy", cls(func(c *ClassifierMetrics) string { return fmtNum(c.Accuracy) }))
	metric("precision", cls(func(c *ClassifierMetrics) string { return fmtNum(c.Precision) }))
	metric("recall", cls(func(c *ClassifierMetrics) string { return fmtNum(c.Recall) }))
	metric("F1", cls(func(c *ClassifierMetrics) string { return fmtNum(c.F1) }))
	metric("TP/FP/TN/FN", cls(func(c *ClassifierMetrics) string { return fmt.Sprintf("%d/%d/%d/%d", c.TP, c.FP, c.TN, c.FN) }))
	metric("rows", reg(func(c *RegressorMetrics) string { return fmt.Sprint(c.Rows) }))
	metric("RMSE", reg(func(c *RegressorMetrics) string { return fmtNum(c.RMSE) }))
	metric("MAE", reg(func(c *RegressorMetrics) string { return fmtNum(c.MAE) }))
	metric("R²", reg(func(c *RegressorMetrics) string { return fmtNum(c.R2) }))
	metric("MAPE", reg(func(c *RegressorMetrics) string { return fmtPct(c.MAPE) }))
	tw.Flush()

	for _, m := range r.Models {
		if m.Classifier == nil || m.Classifier.Calibration == nil {
			continue
		}
		fmt.Fprintf(&b, "\ncalibration of %s (%s)\n", m.Name, m.Score)
		tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "bin\trows\tmean score\tfraction positive\t")
		for i, c := range m.Classifier.Calibration {
			open := "("
			if i == 0 {
				open = "["
			}
			fmt.Fprintf(tw, "%s%.2f, %.2f]\t%d\t%s\t%s\t\n", open, c.Lower, c.Upper, c.Count, fmtNum(c.MeanScore), fmtNum(c.FractionPositive))
		}
		tw.Flush()
	}
	for _, d := range r.Disagreements {
		fmt.Fprintf(&b, "\n%s vs %s: %d of %d rows differ (%s; %s)\n", d.Challenger, d.Champion, d.Differ, d.Rows, fmtPct(d.Share), d.Rule)
		st := d.Diff
		fmt.Fprintf(&b, "score difference %s − %s: mean %s, std %s, mean |d| %s, max |d| %s\n", d.Challenger, d.Champion,
			fmtNum(st.Mean), fmtNum(st.Std), fmtNum(st.MeanAbs), fmtNum(st.MaxAbs))
		var ps []string
		for _, p := range st.Percentiles {
			ps = append(ps, fmt.Sprintf("p%g %s", p.P, fmtNum(p.Value)))
		}
		if len(ps) > 0 {
			fmt.Fprintf(&b, "  percentiles: %s\n", strings.Join(ps, ", "))
		}
		if maxIDs != 0 && len(d.IDs) > 0 {
			n := len(d.IDs)
			if maxIDs > 0 {
				n = min(n, maxIDs)
			}
			fmt.Fprintf(&b, "  differing rows: %s", strings.Join(d.IDs[:n], ", "))
			if n < len(d.IDs) {
				fmt.Fprintf(&b, " … and %d more", len(d.IDs)-n)
			}
			b.WriteString("\n")
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
