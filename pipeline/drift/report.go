package drift

import (
	"bufio"
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Plot geometry: one SVG per column, two panels side by side.
const (
	plotW, plotH  = 980, 300
	panelW        = 440
	padL, padR    = 56, 12
	padT, padB    = 34, 70
	rightPanelX   = 520
	maxXLabels    = 24
	refColor      = "#5b7fa6"
	curColor      = "#e8833a"
	alertColor    = "#c0392b"
	clearColor    = "#7f8c8d"
	bucketDot     = "#e8833a"
	historyStroke = "#2c3e50"
)

// ReportOptions says what a report page shows beyond the status.
type ReportOptions struct {
	// History is the window's evaluations (Store.History), oldest first.
	History []HistoryPoint
	// Generated is the time printed on the page.
	Generated time.Time
	// Smoothing is the PSI smoothing used for per-bucket scores (zero:
	// DefaultSmoothing; negative: none).
	Smoothing float64
}

// WriteReport writes one self-contained HTML page for st: a summary table,
// then per column one SVG plot with the reference and current histograms
// and the column's main score over time (the window's score at each
// evaluation, as a line, and each bucket's own score, as dots, with the
// alert and clear levels). It uses no script and loads nothing: styles and
// plots are inline. The page is also well-formed XML.
func WriteReport(w io.Writer, st *Status, opts ReportOptions) error {
	smoothing := opts.Smoothing
	switch {
	case smoothing == 0:
		smoothing = DefaultSmoothing
	case smoothing < 0:
		smoothing = 0
	}
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	title := fmt.Sprintf("Drift report: %s version %s", st.NS.Model, st.NS.Version)
	p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), reportCSS)
	p("<h1>%s</h1>\n", esc(title))
	drifting := 0
	for i := range st.Columns {
		if st.Columns[i].State.Drift {
			drifting++
		}
	}
	p("<p class=\"meta\">Window %s to %s (%d buckets of %s) · %d events · baseline %s · %d of %d columns in drift · generated %s</p>\n",
		esc(st.Start.UTC().Format(time.RFC3339)), esc(st.End.UTC().Format(time.RFC3339)), len(st.Buckets), bucketLen(st),
		st.Events, esc(st.NS.Baseline), drifting, len(st.Columns), esc(opts.Generated.UTC().Format(time.RFC3339)))
	if !st.Enough {
		p("<p class=\"warn\">The window holds fewer events than the minimum for alerts; scores are shown but states do not change.</p>\n")
	}
	order := reportOrder(st)
	p("<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th>feature</th><th>kind</th><th>state</th><th>score</th><th>threshold</th><th>events</th><th>psi</th><th>ks</th><th>js</th><th>wasserstein</th><th>chi² p</th><th>missing Δ</th></tr></thead>\n<tbody>\n")
	for _, i := range order {
		cs := &st.Columns[i]
		ps := cs.primaryScore()
		th := "–"
		if t, ok := cs.Thresholds[ps]; ok {
			th = fmtScore(t.Alert) + " / " + fmtScore(t.Clear)
		}
		state := st.StateLabel(cs)
		p("<tr class=\"%s\"><td><a href=\"#%s\">%s</a></td><td>%s</td><td><span class=\"badge %s\">%s</span></td><td>%s %s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			stateClass(state), anchor(cs.Column.Name), esc(cs.Column.Name), esc(kindLabel(cs.Column)), stateClass(state), esc(state),
			esc(ps.String()), esc(fmtScore(cs.Scores[ps])), esc(th), cs.Current.Total(),
			esc(fmtScore(cs.Scores[PSI])), esc(fmtScore(cs.Scores[KS])), esc(fmtScore(cs.Scores[JS])),
			esc(fmtScore(cs.Scores[Wasserstein])), esc(fmtScore(cs.Scores[ChiSquaredP])), esc(fmtScore(cs.Scores[MissingRate])))
	}
	p("</tbody>\n</table></div>\n")
	for _, i := range order {
		cs := &st.Columns[i]
		state := st.StateLabel(cs)
		p("<section class=\"feature\" id=\"%s\">\n<h2>%s <span class=\"kind\">%s</span> <span class=\"badge %s\">%s</span></h2>\n",
			anchor(cs.Column.Name), esc(cs.Column.Name), esc(kindLabel(cs.Column)), stateClass(state), esc(state))
		var parts []string
		for s := range NumScores {
			if v := cs.Scores[s]; !math.IsNaN(v) {
				parts = append(parts, s.String()+" "+fmtScore(v))
			}
		}
		p("<p class=\"scores\">%s</p>\n", esc(strings.Join(parts, " · ")))
		writePlot(bw, st, i, opts.History, smoothing)
		p("</section>\n")
	}
	p("</body>\n</html>\n")
	return bw.Flush()
}

// reportOrder lists st's columns as the report shows them: drifting ones
// first, then by their main score relative to its alert level (highest
// first), then in baseline order.
func reportOrder(st *Status) []int {
	order := make([]int, len(st.Columns))
	for i := range order {
		order[i] = i
	}
	rel := func(cs *ColumnStatus) float64 {
		ps := cs.primaryScore()
		v := cs.Scores[ps]
		if math.IsNaN(v) {
			return math.Inf(-1)
		}
		t, ok := cs.Thresholds[ps]
		if !ok || t.Alert == 0 {
			return v
		}
		if t.Alert < t.Clear { // a score that alerts when low (a p-value)
			return t.Alert / math.Max(v, 1e-12)
		}
		return v / t.Alert
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := &st.Columns[a], &st.Columns[b]
		if ca.State.Drift != cb.State.Drift {
			if ca.State.Drift {
				return -1
			}
			return 1
		}
		return cmp.Compare(rel(cb), rel(ca))
	})
	return order
}

const reportCSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1020px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 2px}
.meta{color:#555;margin:0 0 12px}
.warn{background:#fff4e0;border:1px solid #f0c27b;padding:6px 10px}
.scroll{overflow-x:auto;max-width:100%}
table.summary{border-collapse:collapse;width:100%;font-size:12px}
table.summary th,table.summary td{border-bottom:1px solid #e3e3e3;padding:2px 4px;text-align:right;white-space:nowrap}
table.summary th:first-child,table.summary td:first-child,table.summary th:nth-child(2),table.summary td:nth-child(2),table.summary th:nth-child(3),table.summary td:nth-child(3){text-align:left}
tr.drift td{background:#fdecea}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600;color:#fff;background:#27ae60}
.badge.drift{background:#c0392b}
.badge.nodata{background:#95a5a6}
.kind{font-weight:normal;color:#777;font-size:13px}
.scores{margin:0 0 4px;color:#444;font-size:13px}
svg.plot{display:block;background:#fff;border:1px solid #eee}
svg.plot text{font:11px system-ui,sans-serif;fill:#333}
svg.plot .title{font-weight:600;font-size:12px}
svg.plot .axis{stroke:#999;stroke-width:1}
svg.plot .grid{stroke:#eee;stroke-width:1}
`

func esc(s string) string { return html.EscapeString(s) }

func stateClass(state string) string {
	switch state {
	case "DRIFT":
		return "drift"
	case "no data":
		return "nodata"
	}
	return "ok"
}

func kindLabel(c *Column) string {
	if c.Source == FromOutput {
		return "prediction"
	}
	if c.Source == FromPassthrough {
		return "categorical field"
	}
	return string(c.Kind)
}

func bucketLen(st *Status) string {
	if len(st.Buckets) < 2 {
		return st.End.Sub(st.Start).String()
	}
	return (time.Duration(st.Buckets[1].Start-st.Buckets[0].Start) * time.Millisecond).String()
}

// anchor turns a column name into an id attribute value.
func anchor(name string) string {
	var b strings.Builder
	b.WriteString("col-")
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, ".%x", r)
		}
	}
	return b.String()
}

// num formats a coordinate.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// writePlot writes column i's SVG: histograms on the left, score over time
// on the right.
func writePlot(w *bufio.Writer, st *Status, i int, hist []HistoryPoint, smoothing float64) {
	cs := &st.Columns[i]
	fmt.Fprintf(w, "<svg class=\"plot\" data-feature=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
		esc(cs.Column.Name), plotW, plotH, plotW, plotH)
	fmt.Fprintf(w, "<title>%s: reference vs current distribution, and %s over time</title>\n", esc(cs.Column.Name), esc(cs.primaryScore().String()))
	writeHistogram(w, cs, 0)
	writeTimeline(w, st, i, hist, smoothing, rightPanelX)
	w.WriteString("</svg>\n")
}

// niceCeil returns a round number at or above v (1, 1.2, 1.5, 2, 2.5, 3,
// 4, 5, 6, 8 × 10^k).
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*e >= v*(1-1e-12) {
			return m * e
		}
	}
	return 10 * e
}

func writeHistogram(w *bufio.Writer, cs *ColumnStatus, x0 float64) {
	c := cs.Column
	ref, cur := c.Reference(), cs.Current
	bins := c.Bins()
	withMissing := ref.Missing > 0 || cur.Missing > 0
	n := bins
	if withMissing {
		n++
	}
	rt, ct := float64(ref.Total()), float64(cur.Total())
	prop := func(h Histogram, t float64, j int) float64 {
		if t == 0 {
			return 0
		}
		if j == bins {
			return float64(h.Missing) / t
		}
		return float64(h.Counts[j]) / t
	}
	ymax := 0.0
	for j := range n {
		ymax = math.Max(ymax, math.Max(prop(ref, rt, j), prop(cur, ct, j)))
	}
	ymax = niceCeil(ymax * 1.05)
	left, top := x0+padL, float64(padT)
	iw, ih := float64(panelW-padL-padR), float64(plotH-padT-padB)
	fmt.Fprintf(w, "<text class=\"title\" x=\"%s\" y=\"16\">Distribution: reference vs current window</text>\n", num(x0+8))
	// axis titles: the y axis is each bin's share of the histogram's events;
	// numeric bins are the reference's quantile bins, drawn equally wide
	xTitle := "category"
	if c.Kind != Categorical {
		xTitle = c.Name + ": reference quantile bins (equal reference share, not to scale)"
	}
	fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n", num(left+iw/2), num(float64(plotH)-4), esc(xTitle))
	fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" transform=\"rotate(-90 %s %s)\">share of events (%%)</text>\n", num(x0+12), num(top+ih/2), num(x0+12), num(top+ih/2))
	// legend
	fmt.Fprintf(w, "<rect x=\"%s\" y=\"20\" width=\"10\" height=\"8\" fill=\"%s\"/><text x=\"%s\" y=\"28\">reference</text>\n", num(left), refColor, num(left+14))
	fmt.Fprintf(w, "<rect x=\"%s\" y=\"20\" width=\"10\" height=\"8\" fill=\"%s\"/><text x=\"%s\" y=\"28\">current</text>\n", num(left+80), curColor, num(left+94))
	// y grid and ticks
	for k := 0; k <= 4; k++ {
		v := ymax * float64(k) / 4
		y := top + ih - ih*float64(k)/4
		fmt.Fprintf(w, "<line class=\"grid\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>", num(left), num(y), num(left+iw), num(y))
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>\n", num(left-4), num(y+4), esc(pct(v)))
	}
	fmt.Fprintf(w, "<line class=\"axis\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", num(left), num(top+ih), num(left+iw), num(top+ih))
	gw := iw / float64(n)
	bar := gw * 0.4
	for j := range n {
		gx := left + gw*float64(j)
		for s, h := range []struct {
			hist  Histogram
			t     float64
			color string
			name  string
		}{{ref, rt, refColor, "reference"}, {cur, ct, curColor, "current"}} {
			v := prop(h.hist, h.t, j)
			bh := ih * v / ymax
			bx := gx + gw*0.1 + bar*float64(s)
			label := "missing"
			if j < bins {
				label = c.Label(j)
			}
			fmt.Fprintf(w, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"><title>%s %s: %s</title></rect>",
				num(bx), num(top+ih-bh), num(bar), num(bh), h.color, esc(h.name), esc(label), esc(pct(v)))
		}
		w.WriteByte('\n')
	}
	// x labels: categories (or "missing") under their group; for numeric
	// bins, the edges at the group boundaries
	step := 1
	if n > maxXLabels {
		step = (n + maxXLabels - 1) / maxXLabels
	}
	label := func(x float64, s string) {
		if len([]rune(s)) > 12 {
			s = string([]rune(s)[:11]) + "…"
		}
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\" transform=\"rotate(-40 %s %s)\">%s</text>\n",
			num(x), num(top+ih+12), num(x), num(top+ih+12), esc(s))
	}
	if c.Kind == Categorical {
		for j := 0; j < bins; j += step {
			label(left+gw*(float64(j)+0.5), c.Label(j))
		}
	} else {
		for j := 0; j < len(c.Edges); j += step {
			label(left+gw*float64(j+1), strconv.FormatFloat(c.Edges[j], 'g', 3, 64))
		}
	}
	if withMissing {
		label(left+gw*(float64(bins)+0.5), "missing")
	}
	if ct == 0 {
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">no events in the window</text>\n", num(left+iw/2), num(top+ih/2))
	}
}

func pct(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(v*100, 'f', 1, 64), ".0") + "%"
}

type point struct {
	t int64
	v float64
}

func writeTimeline(w *bufio.Writer, st *Status, i int, hist []HistoryPoint, smoothing float64, x0 float64) {
	cs := &st.Columns[i]
	c := cs.Column
	s := cs.primaryScore()
	var line, dots []point
	for _, h := range hist {
		if sc, ok := h.Scores[c.Name]; ok && !math.IsNaN(sc[s]) && !math.IsInf(sc[s], 0) {
			line = append(line, point{h.At, sc[s]})
		}
	}
	bucketMs := int64(0)
	if len(st.Buckets) > 1 {
		bucketMs = st.Buckets[1].Start - st.Buckets[0].Start
	} else {
		bucketMs = st.End.UnixMilli() - st.Start.UnixMilli()
	}
	for _, b := range st.Buckets {
		h := b.Columns[i]
		if h.Total() == 0 {
			continue
		}
		v := Compare(c, c.Reference(), h, smoothing)[s]
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			dots = append(dots, point{b.Start + bucketMs/2, v})
		}
	}
	th, hasTh := cs.Thresholds[s]
	t0, t1 := st.Start.UnixMilli(), st.End.UnixMilli()
	ymax := 0.0
	for _, p := range line {
		t0 = min(t0, p.t)
		ymax = math.Max(ymax, p.v)
	}
	for _, p := range dots {
		ymax = math.Max(ymax, p.v)
	}
	if hasTh {
		ymax = math.Max(ymax, math.Max(th.Alert, th.Clear)*1.25)
	}
	if s == ChiSquaredP || s == KS || s == JS {
		ymax = math.Min(math.Max(ymax, 0.1), 1)
	}
	ymax = niceCeil(ymax * 1.05)
	left, top := x0+padL, float64(padT)
	iw, ih := float64(panelW-padL-padR), float64(plotH-padT-padB)
	xOf := func(t int64) float64 { return left + iw*float64(t-t0)/float64(max(t1-t0, 1)) }
	yOf := func(v float64) float64 { return top + ih - ih*math.Min(v, ymax)/ymax }
	fmt.Fprintf(w, "<text class=\"title\" x=\"%s\" y=\"16\">%s over time</text>\n", num(x0+8), esc(s.String()))
	fmt.Fprintf(w, "<line x1=\"%s\" y1=\"24\" x2=\"%s\" y2=\"24\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%s\" y=\"28\">window</text>\n", num(left), num(left+14), historyStroke, num(left+18))
	fmt.Fprintf(w, "<circle cx=\"%s\" cy=\"24\" r=\"3\" fill=\"%s\"/><text x=\"%s\" y=\"28\">bucket</text>\n", num(left+76), bucketDot, num(left+84))
	if hasTh {
		fmt.Fprintf(w, "<line x1=\"%s\" y1=\"24\" x2=\"%s\" y2=\"24\" stroke=\"%s\" stroke-dasharray=\"5 3\"/><text x=\"%s\" y=\"28\">alert</text>\n", num(left+140), num(left+154), alertColor, num(left+158))
		fmt.Fprintf(w, "<line x1=\"%s\" y1=\"24\" x2=\"%s\" y2=\"24\" stroke=\"%s\" stroke-dasharray=\"2 2\"/><text x=\"%s\" y=\"28\">clear</text>\n", num(left+200), num(left+214), clearColor, num(left+218))
	}
	for k := 0; k <= 4; k++ {
		v := ymax * float64(k) / 4
		y := yOf(v)
		fmt.Fprintf(w, "<line class=\"grid\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>", num(left), num(y), num(left+iw), num(y))
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>\n", num(left-4), num(y+4), esc(fmtScore(v)))
	}
	fmt.Fprintf(w, "<line class=\"axis\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", num(left), num(top+ih), num(left+iw), num(top+ih))
	for k := 0; k <= 4; k++ {
		t := t0 + (t1-t0)*int64(k)/4
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n", num(xOf(t)), num(top+ih+16), esc(time.UnixMilli(t).UTC().Format("15:04:05")))
	}
	fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">time (UTC)</text>\n", num(left+iw/2), num(top+ih+34))
	fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" transform=\"rotate(-90 %s %s)\">%s (%s)</text>\n", num(x0+12), num(top+ih/2), num(x0+12), num(top+ih/2), esc(s.String()), esc(scoreUnit(s)))
	if hasTh {
		fmt.Fprintf(w, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-dasharray=\"5 3\"/>\n", num(left), num(yOf(th.Alert)), num(left+iw), num(yOf(th.Alert)), alertColor)
		fmt.Fprintf(w, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-dasharray=\"2 2\"/>\n", num(left), num(yOf(th.Clear)), num(left+iw), num(yOf(th.Clear)), clearColor)
	}
	if len(line) > 0 {
		var pts strings.Builder
		for k, p := range line {
			if k > 0 {
				pts.WriteByte(' ')
			}
			pts.WriteString(num(xOf(p.t)) + "," + num(yOf(p.v)))
		}
		fmt.Fprintf(w, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", pts.String(), historyStroke)
	}
	for _, p := range dots {
		fmt.Fprintf(w, "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"><title>%s %s: %s</title></circle>",
			num(xOf(p.t)), num(yOf(p.v)), bucketDot, esc(time.UnixMilli(p.t).UTC().Format("15:04:05")), esc(s.String()), esc(fmtScore(p.v)))
	}
	if len(dots) > 0 {
		w.WriteByte('\n')
	}
	if len(line) == 0 && len(dots) == 0 {
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">no scores yet</text>\n", num(left+iw/2), num(top+ih/2))
	}
}

// scoreUnit names what a score's axis measures.
func scoreUnit(s Score) string {
	switch s {
	case ChiSquaredP:
		return "p-value"
	case MissingRate:
		return "change in missing share"
	case Wasserstein:
		return "in the column's units"
	}
	return "unitless"
}
