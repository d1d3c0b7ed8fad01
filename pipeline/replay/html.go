package replay

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// maxHTMLIDs bounds the disagreeing row ids an HTML report lists; the JSON
// report lists them all.
const maxHTMLIDs = 200

// palette colours the models, champion first.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

func colour(i int) string { return palette[i%len(palette)] }

// chart is a square SVG plot of [x0, x1] × [y0, y1].
type chart struct {
	b              *strings.Builder
	w, h, pad      float64
	x0, x1, y0, y1 float64
}

func newChart(b *strings.Builder, title, xlabel, ylabel string, x0, x1, y0, y1 float64) *chart {
	c := &chart{b: b, w: 430, h: 340, pad: 56, x0: x0, x1: x1, y0: y0, y1: y1}
	fmt.Fprintf(b, `<figure><figcaption>%s</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, html.EscapeString(title), c.w, c.h, c.w, c.h)
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#999"/>`, c.pad, 10.0, c.w-c.pad-10, c.h-c.pad-10)
	for i := 0; i <= 4; i++ {
		fx := x0 + (x1-x0)*float64(i)/4
		fy := y0 + (y1-y0)*float64(i)/4
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, c.x(fx), c.h-c.pad+14, tick(fx))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, c.pad-4, c.y(fy)+3, tick(fy))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`, c.pad+(c.w-c.pad-10)/2, c.h-8, html.EscapeString(xlabel))
	fmt.Fprintf(b, `<text x="12" y="%.1f" font-size="11" text-anchor="middle" transform="rotate(-90 12 %.1f)">%s</text>`, 10+(c.h-c.pad-10)/2, 10+(c.h-c.pad-10)/2, html.EscapeString(ylabel))
	return c
}

func tick(v float64) string {
	s := fmt.Sprintf("%.3g", v)
	if math.Abs(v) >= 100 {
		s = fmt.Sprintf("%.0f", v)
	}
	if s == "-0" {
		return "0"
	}
	return s
}

func (c *chart) x(v float64) float64 {
	return c.pad + (v-c.x0)/(c.x1-c.x0)*(c.w-c.pad-10)
}

func (c *chart) y(v float64) float64 {
	return c.h - c.pad - (v-c.y0)/(c.y1-c.y0)*(c.h-c.pad-10)
}

func (c *chart) line(pts []Point, stroke string, dashed bool) {
	if len(pts) == 0 {
		return
	}
	var p strings.Builder
	for i, pt := range pts {
		if i > 0 {
			p.WriteByte(' ')
		}
		fmt.Fprintf(&p, "%.2f,%.2f", c.x(pt.X), c.y(pt.Y))
	}
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="4 3"`
	}
	fmt.Fprintf(c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"%s/>`, p.String(), stroke, dash)
}

func (c *chart) dots(pts []Point, fill string) {
	for _, pt := range pts {
		fmt.Fprintf(c.b, `<circle cx="%.2f" cy="%.2f" r="3" fill="%s"/>`, c.x(pt.X), c.y(pt.Y), fill)
	}
}

func (c *chart) bar(x0, x1, y0, y1 float64, fill string) {
	if y1 <= y0 {
		return
	}
	fmt.Fprintf(c.b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>`, c.x(x0), c.y(y1), max(c.x(x1)-c.x(x0)-0.5, 0.5), c.y(y0)-c.y(y1), fill)
}

func (c *chart) legend(names []string, colours []string) { c.legendFrom(22, names, colours) }

// legendLow puts the legend in the lower left corner, for curves that run
// along the top.
func (c *chart) legendLow(names []string, colours []string) {
	c.legendFrom(c.h-c.pad-8-14*float64(len(names)-1), names, colours)
}

func (c *chart) legendFrom(y0 float64, names []string, colours []string) {
	for i, n := range names {
		y := y0 + 14*float64(i)
		fmt.Fprintf(c.b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f" font-size="11">%s</text>`, c.pad+10, y-9, colours[i], c.pad+24, y, html.EscapeString(n))
	}
}

// marker draws a ring at pt with a tooltip.
func (c *chart) marker(pt Point, stroke, title string) {
	fmt.Fprintf(c.b, `<circle cx="%.2f" cy="%.2f" r="5" fill="#fff" stroke="%s" stroke-width="2"><title>%s</title></circle>`, c.x(pt.X), c.y(pt.Y), stroke, html.EscapeString(title))
}

func (c *chart) end() { c.b.WriteString("</svg></figure>\n") }

// niceCeil returns a round number at or above v (1, 2, 2.5, 5 × 10^k), so
// an axis's quarter ticks are round too.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 8, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func histogramChart(b *strings.Builder, title, xlabel string, h Histogram, fill string) {
	peak := 1
	for _, n := range h.Counts {
		peak = max(peak, n)
	}
	c := newChart(b, title, xlabel, "rows", h.Lower, h.Upper, 0, niceCeil(float64(peak)))
	width := (h.Upper - h.Lower) / float64(len(h.Counts))
	for i, n := range h.Counts {
		lo := h.Lower + float64(i)*width
		if h.Positives != nil {
			neg, pos := float64(h.Negatives[i]), float64(h.Positives[i])
			c.bar(lo, lo+width, 0, neg, "#9ab")
			c.bar(lo, lo+width, neg, neg+pos, "#e8743b")
			c.bar(lo, lo+width, neg+pos, float64(n), "#ccc") // unlabeled
			continue
		}
		c.bar(lo, lo+width, 0, float64(n), fill)
	}
	if h.Positives != nil {
		c.legend([]string{"label 0", "label 1", "no label"}, []string{"#9ab", "#e8743b", "#ccc"})
	}
	c.end()
}

// WriteHTML writes the report as one self-contained HTML page (inline CSS
// and SVG, no scripts, nothing fetched): the summary, the metrics table, ROC
// curves, calibration plots, score histograms per model and, for several
// models, the distribution of score differences and the rows that differ.
func (r *Report) WriteHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>streamscore backtest</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:8px 12px 8px 0}
figcaption{font-weight:600;margin-bottom:4px}.ids{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.note{color:#a40}
</style></head><body>
<h1>Backtest</h1>
`)
	dead := 0
	var reasons []string
	for _, d := range r.DeadLetters {
		dead += d.Count
		reasons = append(reasons, fmt.Sprintf("%s %d", d.Reason, d.Count))
	}
	b.WriteString("<table>")
	kv := func(k, v string) { fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>", esc(k), esc(v)) }
	kv("source", r.Source)
	if r.Output != "" {
		kv("scored rows", r.Output)
	}
	kv("events", fmt.Sprint(r.Events))
	kv("scored", fmt.Sprint(r.Scored))
	deadText := fmt.Sprint(dead)
	if len(reasons) > 0 {
		deadText += " (" + strings.Join(reasons, ", ") + ")"
	}
	kv("dead letters", deadText)
	if r.Outside > 0 {
		kv("outside the time range", fmt.Sprint(r.Outside))
	}
	if r.Label != "" {
		kv("label", fmt.Sprintf("%s: %d labeled, %d without, %d unreadable", r.Label, r.Labeled, r.Unlabeled, r.BadLabels))
	}
	if r.Task == TaskClassifier {
		kv("task", fmt.Sprintf("classifier, threshold %g", r.Threshold))
	} else {
		kv("task", "regressor")
	}
	b.WriteString("</table>\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "<p class=note>%s</p>\n", esc(n))
	}

	// Metrics table: the text report's rows, as HTML.
	b.WriteString("<h2>Metrics</h2>\n<table>")
	fmt.Fprintf(&b, "<tr><th>model</th>")
	for i, m := range r.Models {
		fmt.Fprintf(&b, `<th style="color:%s">%s</th>`, colour(i), esc(m.Name))
	}
	b.WriteString("</tr>")
	row := func(name string, get func(ModelReport) string) {
		var cells []string
		some := false
		for _, m := range r.Models {
			v := get(m)
			some = some || v != ""
			cells = append(cells, v)
		}
		if !some {
			return
		}
		fmt.Fprintf(&b, "<tr><td>%s</td>", esc(name))
		for _, c := range cells {
			fmt.Fprintf(&b, "<td>%s</td>", esc(c))
		}
		b.WriteString("</tr>")
	}
	row("version", func(m ModelReport) string { return m.Version })
	row("score", func(m ModelReport) string { return m.Score })
	c := func(f func(*ClassifierMetrics) string) func(ModelReport) string {
		return func(m ModelReport) string {
			if m.Classifier == nil {
				return ""
			}
			return f(m.Classifier)
		}
	}
	g := func(f func(*RegressorMetrics) string) func(ModelReport) string {
		return func(m ModelReport) string {
			if m.Regressor == nil {
				return ""
			}
			return f(m.Regressor)
		}
	}
	row("labeled rows", c(func(x *ClassifierMetrics) string { return fmt.Sprint(x.Rows) }))
	row("positives", c(func(x *ClassifierMetrics) string { return fmt.Sprint(x.Positives) }))
	row("ROC AUC", c(func(x *ClassifierMetrics) string { return fmtNum(x.ROCAUC) }))
	row("PR AUC (average precision)", c(func(x *ClassifierMetrics) string { return fmtNum(x.PRAUC) }))
	row("log loss", c(func(x *ClassifierMetrics) string { return fmtNum(x.LogLoss) }))
	row("Brier score", c(func(x *ClassifierMetrics) string { return fmtNum(x.Brier) }))
	row("accuracy", c(func(x *ClassifierMetrics) string { return fmtNum(x.Accuracy) }))
	row("precision", c(func(x *ClassifierMetrics) string { return fmtNum(x.Precision) }))
	row("recall", c(func(x *ClassifierMetrics) string { return fmtNum(x.Recall) }))
	row("F1", c(func(x *ClassifierMetrics) string { return fmtNum(x.F1) }))
	row("TP / FP / TN / FN", c(func(x *ClassifierMetrics) string { return fmt.Sprintf("%d / %d / %d / %d", x.TP, x.FP, x.TN, x.FN) }))
	row("labeled rows", g(func(x *RegressorMetrics) string { return fmt.Sprint(x.Rows) }))
	row("RMSE", g(func(x *RegressorMetrics) string { return fmtNum(x.RMSE) }))
	row("MAE", g(func(x *RegressorMetrics) string { return fmtNum(x.MAE) }))
	row("R²", g(func(x *RegressorMetrics) string { return fmtNum(x.R2) }))
	row("MAPE", g(func(x *RegressorMetrics) string { return fmtPct(x.MAPE) }))
	b.WriteString("</table>\n")

	var names, colours []string
	var rocs [][]Point
	var cals [][]Point
	for i, m := range r.Models {
		names = append(names, m.Name)
		colours = append(colours, colour(i))
		var roc, cal []Point
		if m.Classifier != nil {
			roc = m.Classifier.ROC
			for _, bin := range m.Classifier.Calibration {
				if bin.Count > 0 {
					cal = append(cal, Point{float64(bin.MeanScore), float64(bin.FractionPositive)})
				}
			}
		}
		rocs = append(rocs, roc)
		cals = append(cals, cal)
	}
	anyCurve := func(cs [][]Point) bool {
		for _, c := range cs {
			if len(c) > 0 {
				return true
			}
		}
		return false
	}
	if anyCurve(rocs) || anyCurve(cals) {
		b.WriteString("<h2>Curves</h2>\n")
	}
	// legendWith names each model with one of its metrics.
	legendWith := func(what string, v func(*ClassifierMetrics) Number) []string {
		out := make([]string, len(r.Models))
		for i, m := range r.Models {
			out[i] = m.Name
			if m.Classifier != nil {
				out[i] += " (" + what + " " + fmtNum(v(m.Classifier)) + ")"
			}
		}
		return out
	}
	if anyCurve(rocs) {
		ch := newChart(&b, "ROC curve (the ring marks the decision threshold)", "false positive rate", "true positive rate", 0, 1, 0, 1)
		ch.line([]Point{{0, 0}, {1, 1}}, "#bbb", true)
		for i, pts := range rocs {
			ch.line(pts, colour(i), false)
			if m := r.Models[i].Classifier; m != nil && m.FP+m.TN > 0 && m.TP+m.FN > 0 {
				ch.marker(Point{float64(m.FP) / float64(m.FP+m.TN), float64(m.TP) / float64(m.TP+m.FN)}, colour(i), fmt.Sprintf("threshold %g", m.Threshold))
			}
		}
		ch.legend(legendWith("AUC", func(m *ClassifierMetrics) Number { return m.ROCAUC }), colours)
		ch.end()
		var prs [][]Point
		for _, m := range r.Models {
			var pr []Point
			if m.Classifier != nil {
				pr = m.Classifier.PR
			}
			prs = append(prs, pr)
		}
		if anyCurve(prs) {
			ch := newChart(&b, "Precision-recall curve (the ring marks the decision threshold)", "recall", "precision", 0, 1, 0, 1)
			for i, pts := range prs {
				ch.line(pts, colour(i), false)
				if m := r.Models[i].Classifier; m != nil && m.TP+m.FN > 0 && m.TP+m.FP > 0 {
					ch.marker(Point{float64(m.TP) / float64(m.TP+m.FN), float64(m.TP) / float64(m.TP+m.FP)}, colour(i), fmt.Sprintf("threshold %g", m.Threshold))
				}
				if m := r.Models[i].Classifier; m != nil && m.Rows > 0 {
					base := float64(m.Positives) / float64(m.Rows)
					ch.line([]Point{{0, base}, {1, base}}, "#bbb", true)
				}
			}
			ch.legendLow(legendWith("AP", func(m *ClassifierMetrics) Number { return m.PRAUC }), colours)
			ch.end()
		}
	}
	if anyCurve(cals) {
		ch := newChart(&b, "Calibration", "mean score in bin", "fraction positive", 0, 1, 0, 1)
		ch.line([]Point{{0, 0}, {1, 1}}, "#bbb", true)
		for i, pts := range cals {
			ch.line(pts, colour(i), false)
			ch.dots(pts, colour(i))
		}
		ch.legend(names, colours)
		ch.end()
	}
	for _, m := range r.Models {
		if m.Classifier == nil || m.Classifier.Calibration == nil {
			continue
		}
		fmt.Fprintf(&b, "<details><summary>calibration table of %s</summary><table><tr><th>bin</th><th>rows</th><th>mean score</th><th>fraction positive</th></tr>", esc(m.Name))
		for i, bin := range m.Classifier.Calibration {
			open := "("
			if i == 0 {
				open = "["
			}
			fmt.Fprintf(&b, "<tr><td>%s%.2f, %.2f]</td><td>%d</td><td>%s</td><td>%s</td></tr>", open, bin.Lower, bin.Upper, bin.Count, fmtNum(bin.MeanScore), fmtNum(bin.FractionPositive))
		}
		b.WriteString("</table></details>\n")
	}

	if len(r.Models) > 0 && len(r.Models[0].Histogram.Counts) > 0 {
		b.WriteString("<h2>Score distributions</h2>\n")
		for i, m := range r.Models {
			histogramChart(&b, m.Name+": "+m.Score, "score", m.Histogram, colour(i))
		}
	}

	if len(r.Disagreements) > 0 {
		b.WriteString("<h2>Disagreement</h2>\n")
		for _, d := range r.Disagreements {
			fmt.Fprintf(&b, "<p><b>%s</b> vs <b>%s</b>: %d of %d rows differ (%s; %s).</p>\n", esc(d.Challenger), esc(d.Champion), d.Differ, d.Rows, fmtPct(d.Share), esc(d.Rule))
			st := d.Diff
			b.WriteString("<table><tr><th>score difference</th><th>mean</th><th>std</th><th>mean |d|</th><th>max |d|</th>")
			for _, p := range st.Percentiles {
				fmt.Fprintf(&b, "<th>p%g</th>", p.P)
			}
			fmt.Fprintf(&b, "</tr><tr><td>%s − %s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>", esc(d.Challenger), esc(d.Champion), fmtNum(st.Mean), fmtNum(st.Std), fmtNum(st.MeanAbs), fmtNum(st.MaxAbs))
			for _, p := range st.Percentiles {
				fmt.Fprintf(&b, "<td>%s</td>", fmtNum(p.Value))
			}
			b.WriteString("</tr></table>\n")
			if len(st.Histogram.Counts) > 0 {
				histogramChart(&b, d.Challenger+" − "+d.Champion, "score difference", st.Histogram, "#777")
			}
			if len(d.IDs) > 0 {
				n := min(len(d.IDs), maxHTMLIDs)
				fmt.Fprintf(&b, "<details><summary>rows that differ (%d", len(d.IDs))
				if n < len(d.IDs) {
					fmt.Fprintf(&b, ", first %d shown; the JSON report lists all", n)
				}
				b.WriteString(")</summary><p class=ids>")
				for i, id := range d.IDs[:n] {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(esc(id))
				}
				b.WriteString("</p></details>\n")
			}
		}
	}
	if len(r.DeadLetterExamples) > 0 {
		b.WriteString("<h2>Dead letters (first few)</h2>\n<table><tr><th>source</th><th>partition</th><th>offset</th><th>reason</th><th>field</th><th>detail</th></tr>")
		for _, e := range r.DeadLetterExamples {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td></tr>", esc(e.Source), e.Partition, e.Offset, esc(e.Reason), esc(e.Field), esc(e.Detail))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
