package drift

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// reportFixture runs a monitor through a shift and returns its status,
// history and page.
func reportFixture(t *testing.T) (*Status, []byte) {
	t.Helper()
	e := newMonitorEnv(t, Config{Bucket: time.Second, Window: 8, MinEvents: 50})
	rng := rand.New(rand.NewPCG(11, 12))
	e.run(t, 4, func() []row { return normalRows(rng, 300, 0) })
	e.run(t, 4, func() []row { return normalRows(rng, 300, 40) })
	ns := e.mon.Namespace("m", "1")
	st, err := ReadStatus(t.Context(), e.store, e.base, ns, e.mon.cfg, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	hist, err := e.store.History(t.Context(), ns)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, st, ReportOptions{History: hist, Generated: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return st, buf.Bytes()
}

// checkReport parses page strictly as XML and returns the data-feature of
// every svg.plot, in order, and whether the page loads anything.
func checkReport(page []byte) (plots []string, external []string, err error) {
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			if el.Name.Local == "svg" && strings.Contains(attr["class"], "plot") {
				plots = append(plots, attr["data-feature"])
			}
			switch el.Name.Local {
			case "script", "link", "img", "iframe":
				external = append(external, el.Name.Local)
			}
			for _, k := range []string{"src", "href"} {
				if v := attr[k]; v != "" && !strings.HasPrefix(v, "#") {
					external = append(external, k+"="+v)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		return nil, nil, errors.New("unbalanced elements")
	}
	return plots, external, nil
}

func TestReportHasOnePlotPerFeature(t *testing.T) {
	st, page := reportFixture(t)
	plots, external, err := checkReport(page)
	if err != nil {
		t.Fatalf("report does not parse: %v", err)
	}
	if len(external) > 0 {
		t.Fatalf("report loads %v; it must be self-contained", external)
	}
	var want []string
	for _, i := range reportOrder(st) {
		want = append(want, st.Columns[i].Column.Name)
	}
	if strings.Join(plots, ",") != strings.Join(want, ",") {
		t.Fatalf("plots %v, want one per column %v", plots, want)
	}
	// Drifting columns come first, in the table and the plots.
	seenOK := false
	for _, i := range reportOrder(st) {
		if !st.Columns[i].State.Drift {
			seenOK = true
		} else if seenOK {
			t.Fatalf("drifting column %s after a quiet one: %v", st.Columns[i].Column.Name, plots)
		}
	}
	if plots[0] != "x" || !st.Columns[0].State.Drift {
		t.Fatalf("plots %v: want the shifted column x first", plots)
	}
	for _, s := range []string{"share of events (%)", "reference quantile bins", "time (UTC)", "psi (unitless)", `class="scroll"`} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("report lacks %q", s)
		}
	}
	for _, s := range []string{"<!DOCTYPE html>", "DRIFT", "reference", "current", "psi over time", "<polyline", "<circle"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestStatusTable(t *testing.T) {
	st, _ := reportFixture(t)
	var buf bytes.Buffer
	if err := WriteTable(&buf, st); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3+1+len(st.Columns) {
		t.Fatalf("table has %d lines, want %d:\n%s", len(lines), 4+len(st.Columns), out)
	}
	for _, want := range []string{"FEATURE", "SCORE", "THRESHOLD", "STATE", "EVENTS", "x ", "DRIFT", "psi", "prediction"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// A numeric column with missing values draws a "missing" bar after its
// bins; labelling that bar once indexed past the edges and panicked
// (drift report on a baseline whose prediction had missing rows).
func TestHistogramWithMissingValues(t *testing.T) {
	c := &Column{Name: "probabilities[1]", Kind: Numeric, Edges: []float64{0.2, 0.5, 0.8}, Counts: []int64{10, 10, 10, 10}, Missing: 4}
	cs := &ColumnStatus{Column: c, Current: Histogram{Counts: []int64{1, 2, 3, 4}, Missing: 1}}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeHistogram(w, cs, 0)
	w.Flush()
	for _, want := range []string{"reference missing:", "current ≥ 0.8:", "reference [0.2, 0.5):"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("histogram lacks a bar titled %q", want)
		}
	}
}
