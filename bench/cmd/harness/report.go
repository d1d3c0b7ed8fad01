package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamscore/streamscore/bench/load"
)

// Targets of the standard workload (issues 8 and 14), for the report; none
// is asserted.
const (
	targetPassThrough = 0.7
	targetMicroBatch  = 5
	targetPerEvent    = 30
	targetRSS         = 300 // MB
	// batch.mode adaptive's latency and throughput.
	targetP50At25     = 5.0  // ms
	targetP99At25     = 15.0 // ms
	targetP99At50     = 30.0 // ms
	targetAdaptiveMax = 0.95 // saturated rate over fixed's
	// CPU.
	targetCPUOverPass  = 1.3 // streamscore CPU/event over the pass-through's
	targetEfficiency   = 3.0 // Python micro-batched CPU/event over streamscore's
	targetPinnedMicro  = 3.0 // pinned events/s over the pinned micro-batched peer's
	targetDecodeMicros = 0.8 // µs per event in process
)

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// compare fills Ratios and Targets.
func (r *Results) compare() {
	s := r.Scorer.Max.Rate
	cpu := r.Scorer.Max.CPUMicros
	r.Ratios = Ratios{
		PassThrough:        ratio(s, r.Raw.PassThrough.Rate),
		MicroBatch:         ratio(s, r.Peers.MicroBatch.Rate),
		PerEvent:           ratio(s, r.Peers.PerEvent.Rate),
		CPUOverPassThrough: ratio(cpu, r.Raw.PassThrough.CPUMicros),
		EfficiencyMicro:    ratio(r.Peers.MicroBatch.CPUMicros, cpu),
		EfficiencyPerEvent: ratio(r.Peers.PerEvent.CPUMicros, cpu),
		PinnedMicroBatch:   ratio(r.Pinned.Scorer.Rate, r.Pinned.MicroBatch.Rate),
		AdaptiveOverFixed:  ratio(s, r.Scorer.Fixed.Rate),
	}
	add := func(name, want, got string, met bool) {
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Got: got, Met: met})
	}
	if s == 0 {
		// The standard section did not run (--sections).
		r.formatTargets(add)
		return
	}
	add("throughput / kafka-go pass-through", fmt.Sprintf("≥ %.1f×", targetPassThrough), fmt.Sprintf("%.2f×", r.Ratios.PassThrough), r.Ratios.PassThrough >= targetPassThrough)
	if r.Peers.MicroBatch.Rate > 0 {
		add("throughput / Python micro-batched", fmt.Sprintf("≥ %d×", targetMicroBatch), fmt.Sprintf("%.1f×", r.Ratios.MicroBatch), r.Ratios.MicroBatch >= targetMicroBatch)
	}
	if r.Peers.PerEvent.Rate > 0 {
		add("throughput / Python per-event", fmt.Sprintf("≥ %d×", targetPerEvent), fmt.Sprintf("%.0f×", r.Ratios.PerEvent), r.Ratios.PerEvent >= targetPerEvent)
	}
	if r.Scorer.Fixed.Rate > 0 {
		add("saturated throughput, adaptive / fixed", fmt.Sprintf("≥ %.2f×", targetAdaptiveMax), fmt.Sprintf("%.2f×", r.Ratios.AdaptiveOverFixed), r.Ratios.AdaptiveOverFixed >= targetAdaptiveMax)
	}
	for _, p := range r.Scorer.Latency {
		switch {
		case math.Abs(p.Load-0.25) < 1e-9:
			add("adaptive p50 latency at 25% load", fmt.Sprintf("≤ %.0f ms", targetP50At25), fmt.Sprintf("%.1f ms", p.P50), p.P50 <= targetP50At25)
			add("adaptive p99 latency at 25% load", fmt.Sprintf("≤ %.0f ms", targetP99At25), fmt.Sprintf("%.1f ms", p.P99), p.P99 <= targetP99At25)
		case math.Abs(p.Load-0.5) < 1e-9:
			add("adaptive p99 latency at 50% load", fmt.Sprintf("≤ %.0f ms", targetP99At50), fmt.Sprintf("%.1f ms", p.P99), p.P99 <= targetP99At50)
		}
	}
	if r.Raw.PassThrough.CPUMicros > 0 {
		add("CPU/event / pass-through's", fmt.Sprintf("≤ %.1f×", targetCPUOverPass), fmt.Sprintf("%.2f× (%.1f vs %.1f µs)", r.Ratios.CPUOverPassThrough, cpu, r.Raw.PassThrough.CPUMicros), r.Ratios.CPUOverPassThrough <= targetCPUOverPass)
	}
	if r.Peers.MicroBatch.CPUMicros > 0 {
		add("CPU efficiency vs Python micro-batched (its CPU/event ÷ ours)", fmt.Sprintf("≥ %.0f×", targetEfficiency), fmt.Sprintf("%.1f× (%.1f vs %.1f µs)", r.Ratios.EfficiencyMicro, r.Peers.MicroBatch.CPUMicros, cpu), r.Ratios.EfficiencyMicro >= targetEfficiency)
	}
	if r.Pinned.Scorer.Rate > 0 && r.Pinned.MicroBatch.Rate > 0 {
		add("pinned throughput per scorer core / Python micro-batched", fmt.Sprintf("≥ %.0f×", targetPinnedMicro), fmt.Sprintf("%.1f×", r.Ratios.PinnedMicroBatch), r.Ratios.PinnedMicroBatch >= targetPinnedMicro)
	}
	if d := r.Raw.Decode.NsPerRow / 1e3; d > 0 {
		got := fmt.Sprintf("%.2f µs/event", d)
		if c := r.Raw.Decode.CPUNsPerRow / 1e3; c > 0 {
			// CPU time: the wall time counts waiting for a shared core.
			got = fmt.Sprintf("%.2f µs CPU/event (%.2f µs wall)", c, d)
			d = c
		}
		add("decode in process", fmt.Sprintf("≤ %.1f µs/event", targetDecodeMicros), got, d <= targetDecodeMicros)
	}
	mb := float64(r.Scorer.PeakRSS) / 1e6
	add("peak RSS", fmt.Sprintf("≤ %d MB", targetRSS), fmt.Sprintf("%.0f MB", mb), mb <= targetRSS)
	r.formatTargets(add)
}

// write writes the JSON, the Markdown and the plots into dir.
func (r *Results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, r.Date+"-"+r.Host)
	charts := map[string]*chart{}
	if r.Scorer.Max.Rate > 0 {
		charts["throughput"] = r.throughputChart()
	}
	if len(r.Scorer.Latency) > 0 {
		charts["latency"] = r.latencyChart()
	}
	if r.Delivery != nil && len(r.Delivery.Runs) > 0 {
		charts["delivery-throughput"] = r.deliveryThroughputChart()
		if r.Delivery.Runs[0].Latency.Scored > 0 {
			charts["delivery-latency"] = r.deliveryLatencyChart()
		}
	}
	if r.Formats != nil && len(r.Formats.Runs) > 0 {
		charts["formats"] = r.formatsChart()
	}
	for name, c := range charts {
		if err := os.WriteFile(base+"-"+name+".svg", []byte(c.svg()), 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(base+".json", r); err != nil {
		return err
	}
	svg := func(name string) string { return filepath.Base(base) + "-" + name + ".svg" }
	md := r.markdown(svg)
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	logf("wrote %s.json, .md and the plots", base)
	return nil
}

func f0(v float64) string { return fmt.Sprintf("%.0f", v) }

// thousands formats an integer rate with thin separators: 123 456.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	return strings.Join(out, ",")
}

func (r *Results) markdown(svg func(name string) string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# streamscore benchmark: %s on %s\n\n", r.Date, r.Host)
	w("Machine: %s, %d cores, %d GiB; %s; Kafka %s (one local KRaft broker on the same cores); ONNX Runtime %s. Commit %s. The whole run took %.0f s.\n\n",
		r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGiB, r.Machine.Go, r.Machine.Kafka, r.Machine.ORT, r.Commit, r.Elapsed)
	w("Workload: %s JSON events of %d float features (%.0f bytes on average), %d partitions, model %s; batches of %d rows or %.0f ms.\n\n",
		thousands(float64(r.Workload.Events)), r.Workload.Features, r.Workload.EventBytes, r.Workload.Partitions, r.Workload.Model, r.Workload.MaxRows, r.Workload.MaxWaitMs)
	if len(r.Skipped) > 0 {
		w("Skipped in this run: %s.\n\n", strings.Join(r.Skipped, ", "))
	}
	if r.Scorer.Max.Rate == 0 {
		// Only the sections that ran.
		r.targetsMarkdown(w, false)
		r.deliveryMarkdown(w, svg("delivery-throughput"), svg("delivery-latency"))
		r.formatsMarkdown(w, svg("formats"))
		w("## The scorer's configuration\n\n```yaml\n%s```\n", r.Config)
		return b.String()
	}

	w("## Throughput over the backlog\n\n")
	w("Sustained rate (after a 1 s warm-up) until every event was written to the output topic, or the time limit; CPU is per event over the same window (best of %d runs where repeated).\n\n", max(1, len(r.Scorer.Max.Rates)))
	w("| what | events/s | CPU µs/event | broker CPU µs/event | peak RSS | all runs |\n| --- | ---: | ---: | ---: | ---: | --- |\n")
	row := func(label string, run Run) {
		if run.Rate == 0 {
			return
		}
		var rates []string
		for _, v := range run.Rates {
			rates = append(rates, thousands(v))
		}
		note := strings.Join(rates, ", ")
		if !run.Complete {
			note += fmt.Sprintf(" (time-limited: %s events in %.0f s)", thousands(float64(run.Events)), run.Seconds)
		}
		if run.StartUp {
			note += " (done within its warm-up: start-up included, too few events)"
		}
		if run.Seconds > 0 && run.Seconds < minWindow.Seconds() {
			note += fmt.Sprintf(" (measured over %.1f s, under %.0f s: too short to trust, use more events)", run.Seconds, minWindow.Seconds())
		}
		w("| %s | %s | %.1f | %.1f | %s | %s |\n", label, thousands(run.Rate), run.CPUMicros, run.BrokerCPUMicros, mib(run.PeakRSS), note)
	}
	row("kafka-go pass-through (no work)", r.Raw.PassThrough)
	row("**streamscore** (batch.mode adaptive)", r.Scorer.Max)
	row(fmt.Sprintf("streamscore, batch.mode fixed (adaptive is %.2f× of it)", ratio(r.Scorer.Max.Rate, r.Scorer.Fixed.Rate)), r.Scorer.Fixed)
	if r.Scorer.Baseline != nil {
		row(fmt.Sprintf("streamscore, baseline binary (%.2f× of it)", ratio(r.Scorer.Max.Rate, r.Scorer.Baseline.Rate)), *r.Scorer.Baseline)
	}
	for _, t := range r.Scorer.Tried {
		row(fmt.Sprintf("%s (%.2f×)", t.Name, ratio(t.Rate, r.Scorer.Max.Rate)), t)
	}
	row("Python micro-batched (confluent-kafka + numpy + onnxruntime)", r.Peers.MicroBatch)
	row("Python one inference per event", r.Peers.PerEvent)
	w("| backlog writer (kafka-go produce only) | %s | | | | |\n\n", thousands(r.Backlog.Rate))
	var eff []string
	for _, c := range []struct {
		name string
		run  Run
	}{{"kafka-go pass-through", r.Raw.PassThrough}, {"streamscore fixed", r.Scorer.Fixed}, {"Python micro-batched", r.Peers.MicroBatch}, {"Python per event", r.Peers.PerEvent}} {
		if c.run.CPUMicros > 0 && r.Scorer.Max.CPUMicros > 0 {
			eff = append(eff, fmt.Sprintf("%s %.2f×", c.name, ratio(c.run.CPUMicros, r.Scorer.Max.CPUMicros)))
		}
	}
	if len(eff) > 0 {
		w("CPU efficiency, a contender's CPU µs/event ÷ streamscore's (above 1, streamscore uses less): %s.\n\n", strings.Join(eff, ", "))
	}
	if r.Pinned.Ran {
		w("## Pinned: throughput per scorer core\n\n")
		w("The broker and the harness on CPU 0 (`taskset`), the process under test alone on CPU 1, over the same backlog: each rate is what one scorer core does, and the broker's CPU is accounted apart.\n\n")
		w("| what (pinned) | events/s per scorer core | CPU µs/event | broker CPU µs/event | peak RSS | vs streamscore |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, c := range []struct {
			label string
			run   Run
		}{{"kafka-go pass-through (no work)", r.Pinned.PassThrough}, {"**streamscore**", r.Pinned.Scorer}, {"Python micro-batched", r.Pinned.MicroBatch}} {
			if c.run.Rate == 0 {
				continue
			}
			w("| %s | %s | %.1f | %.1f | %s | %.2f× |\n", c.label, thousands(c.run.Rate), c.run.CPUMicros, c.run.BrokerCPUMicros, mib(c.run.PeakRSS), ratio(c.run.Rate, r.Pinned.Scorer.Rate))
		}
		w("\n")
	}

	r.targetsMarkdown(w, true)

	if len(r.Scorer.Latency) > 0 {
		w("## Event-to-score latency\n\n")
		w("Open-loop producer at a fixed rate (a fraction of the sustained rate above); each event carries its due send time, and the latency is from then until the scored event is read from the output topic. The first second of each load is not counted.\n\n")
		w("Both batch modes (and any --try-yaml configuration) run at the same rates (fractions of the adaptive run's sustained rate), one after the other. CPU µs/event is the scorer's (or the pass-through's), the broker's and the harness's (load generator and reader) per event sent.\n\n")
		w("| what | load | events/s | p50 ms | p95 ms | p99 ms | max ms | CPU µs/event | broker | harness | events in window |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		sets := []NamedLatency{{"**streamscore**, adaptive", r.Scorer.Latency}, {"streamscore, fixed", r.Scorer.LatencyFixed}}
		sets = append(sets, r.Scorer.TriedLatency...)
		sets = append(sets, NamedLatency{"kafka-go pass-through", r.Raw.PassThroughLatency})
		for _, set := range sets {
			for _, p := range set.Points {
				w("| %s | %.0f%% | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s |\n", set.Name, p.Load*100, thousands(p.Rate), p.P50, p.P95, p.P99, p.Max, p.CPUMicros, p.BrokerCPUMicros, p.HarnessCPUMicros, thousands(float64(p.Scored)))
			}
		}
		w("\n![latency CDF](%s)\n\n", svg("latency"))
	}
	r.deliveryMarkdown(w, svg("delivery-throughput"), svg("delivery-latency"))
	r.formatsMarkdown(w, svg("formats"))

	w("## Raw limits in process (one goroutine, no Kafka)\n\n")
	w("| stage | rows/s | ns/row | CPU ns/row |\n| --- | ---: | ---: | ---: |\n")
	w("| decode (JSON → Arrow), 1024 events per batch, best of three windows | %s | %.0f | %.0f |\n", thousands(r.Raw.Decode.RowsPerSec), r.Raw.Decode.NsPerRow, r.Raw.Decode.CPUNsPerRow)
	w("| encode (scored event JSON) | %s | %.0f | %.0f |\n\n", thousands(r.Raw.Encode.RowsPerSec), r.Raw.Encode.NsPerRow, r.Raw.Encode.CPUNsPerRow)
	w("| batch | ONNX Runtime alone rows/s | µs per Run | decode+infer+encode rows/s | streamscore end to end events/s |\n| ---: | ---: | ---: | ---: | ---: |\n")
	inproc := map[int]BatchPoint{}
	for _, p := range r.Raw.InProcess {
		inproc[p.Batch] = p
	}
	e2e := map[int]Run{}
	for _, s := range r.Scorer.Sweep {
		var rows int
		fmt.Sscanf(s.Name, "streamscore-batch-%d", &rows)
		e2e[rows] = s
	}
	for _, p := range r.Raw.ORT {
		ip, e := "", ""
		if v, ok := inproc[p.Batch]; ok {
			ip = thousands(v.RowsPerSec)
		}
		if v, ok := e2e[p.Batch]; ok && v.Rate > 0 {
			e = thousands(v.Rate)
		}
		w("| %d | %s | %.1f | %s | %s |\n", p.Batch, thousands(p.RowsPerSec), p.MicrosPerCall, ip, e)
	}
	w("\n![throughput against batch size](%s)\n\n", svg("throughput"))
	if len(r.Peers.Versions) > 0 {
		var vs []string
		for _, k := range []string{"python", "confluent-kafka", "librdkafka", "numpy", "onnxruntime", "orjson"} {
			if v, ok := r.Peers.Versions[k]; ok {
				vs = append(vs, k+" "+v)
			}
		}
		w("Python peers: %s.\n\n", strings.Join(vs, ", "))
	}
	w("## The scorer's configuration\n\n```yaml\n%s```\n", r.Config)
	return b.String()
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"}

// targetsMarkdown is the table of ratios and targets; soak adds the soak
// test's row (the standard section).
func (r *Results) targetsMarkdown(w func(string, ...any), soak bool) {
	if len(r.Targets) == 0 {
		return
	}
	w("## Ratios and targets\n\n| target | want | got | met |\n| --- | --- | --- | --- |\n")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "**no**"
		}
		w("| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, met)
	}
	if soak {
		w("| RSS flat over a 10-minute soak | last minute ≤ 1.2 × first | see `make soak` | |\n")
	}
	w("\n")
}

// throughputChart plots rows/s against batch size: ONNX Runtime alone, in
// process and the end-to-end sweep as curves; the headline end-to-end runs
// (streamscore in both batch modes, the pass-through, the peers) as points
// at the batch size each ran with (the per-event peer at 1).
func (r *Results) throughputChart() *chart {
	c := &chart{
		title: "Throughput against batch size", xlabel: "batch size (rows)", ylabel: "rows or events per second",
		xlog: true, ylog: true, xmin: 1, xmax: 4096, ymin: math.Inf(1), ymax: 0,
	}
	for v := 1.0; v <= 4096; v *= 4 {
		c.xticks = append(c.xticks, tick{v, f0(v)})
	}
	add := func(name string, color string, points bool, pts [][2]float64) {
		if len(pts) == 0 {
			return
		}
		for _, p := range pts {
			if p[1] > 0 {
				c.ymin, c.ymax = math.Min(c.ymin, p[1]), math.Max(c.ymax, p[1])
			}
		}
		c.series = append(c.series, series{name: name, color: color, points: points, pts: pts})
	}
	var ort, inproc, e2e [][2]float64
	for _, p := range r.Raw.ORT {
		ort = append(ort, [2]float64{float64(p.Batch), p.RowsPerSec})
	}
	for _, p := range r.Raw.InProcess {
		inproc = append(inproc, [2]float64{float64(p.Batch), p.RowsPerSec})
	}
	for _, s := range r.Scorer.Sweep {
		var rows int
		fmt.Sscanf(s.Name, "streamscore-batch-%d", &rows)
		if s.Rate > 0 {
			e2e = append(e2e, [2]float64{float64(rows), s.Rate})
		}
	}
	at := func(batch int, v float64) [][2]float64 {
		if v <= 0 {
			return nil
		}
		return [][2]float64{{float64(batch), v}}
	}
	rows := r.Workload.MaxRows
	add("ONNX Runtime alone", palette[0], false, ort)
	add("decode+infer+encode", palette[2], false, inproc)
	add("streamscore sweep (fixed size)", palette[1], false, e2e)
	add("streamscore, adaptive", palette[1], true, at(rows, r.Scorer.Max.Rate))
	add("streamscore, fixed", palette[6], true, at(rows, r.Scorer.Fixed.Rate))
	add("kafka-go pass-through", palette[4], true, at(rows, r.Raw.PassThrough.Rate))
	add("Python micro-batched", palette[3], true, at(rows, r.Peers.MicroBatch.Rate))
	add("Python per event", palette[5], true, at(1, r.Peers.PerEvent.Rate))
	if c.ymax == 0 {
		c.ymin, c.ymax = 1, 10
	}
	c.ymin = math.Pow(10, math.Floor(math.Log10(c.ymin)))
	c.ymax = math.Pow(10, math.Ceil(math.Log10(c.ymax)))
	c.yticks = decadeTicks(c.ymin, c.ymax, si)
	return c
}

// latencyChart plots the latency CDF at each load, on a log time axis.
func (r *Results) latencyChart() *chart {
	c := &chart{
		title: "Event-to-score latency (CDF)", xlabel: "latency (ms)", ylabel: "fraction of events",
		xlog: true, ymin: 0, ymax: 1, xmin: math.Inf(1), xmax: 0,
	}
	add := func(i int, p LoadPoint, what string, dash string) {
		var pts [][2]float64
		for _, q := range p.CDF {
			v := math.Max(q.Value, 0.1)
			pts = append(pts, [2]float64{v, q.Fraction})
			c.xmin, c.xmax = math.Min(c.xmin, v), math.Max(c.xmax, v)
		}
		c.series = append(c.series, series{name: fmt.Sprintf("%s %.0f%% (%s/s)", what, p.Load*100, si(p.Rate)), color: palette[i%len(palette)], dash: dash, pts: pts})
	}
	for i, p := range r.Scorer.Latency {
		add(i, p, "adaptive", "")
	}
	for i, p := range r.Scorer.LatencyFixed {
		add(i, p, "fixed", "6 4")
	}
	for _, t := range r.Scorer.TriedLatency {
		for i, p := range t.Points {
			add(i, p, strings.TrimPrefix(t.Name, "streamscore "), "1 2")
		}
	}
	for i, p := range r.Raw.PassThroughLatency {
		add(i, p, "pass-through", "2 3")
	}
	if c.xmax == 0 {
		c.xmin, c.xmax = 1, 10
	}
	c.xmin = math.Pow(10, math.Floor(math.Log10(c.xmin)))
	c.xmax = math.Pow(10, math.Ceil(math.Log10(c.xmax)))
	c.xticks = decadeTicks(c.xmin, c.xmax, func(v float64) string { return trimZero(fmt.Sprintf("%g", v)) })
	for _, q := range []float64{0, 0.25, 0.5, 0.75, 0.9, 0.99, 1} {
		c.yticks = append(c.yticks, tick{q, fmt.Sprintf("%g", q)})
	}
	return c
}

// cdfSet is one latency distribution of a CDF chart, in milliseconds.
type cdfSet struct {
	name, color, dash string
	cdf               []load.CDFPoint
}

// cdfChart plots latency CDFs on a log time axis, as latencyChart does.
func cdfChart(title string, sets []cdfSet) *chart {
	c := &chart{
		title: title, xlabel: "latency (ms)", ylabel: "fraction of events",
		xlog: true, ymin: 0, ymax: 1, xmin: math.Inf(1), xmax: 0,
	}
	for _, s := range sets {
		var pts [][2]float64
		for _, q := range s.cdf {
			v := math.Max(q.Value, 0.1)
			pts = append(pts, [2]float64{v, q.Fraction})
			c.xmin, c.xmax = math.Min(c.xmin, v), math.Max(c.xmax, v)
		}
		c.series = append(c.series, series{name: s.name, color: s.color, dash: s.dash, pts: pts})
	}
	if c.xmax == 0 {
		c.xmin, c.xmax = 1, 10
	}
	c.xmin = math.Pow(10, math.Floor(math.Log10(c.xmin)))
	c.xmax = math.Pow(10, math.Ceil(math.Log10(c.xmax)))
	c.xticks = decadeTicks(c.xmin, c.xmax, func(v float64) string { return trimZero(fmt.Sprintf("%g", v)) })
	for _, q := range []float64{0, 0.25, 0.5, 0.75, 0.9, 0.99, 1} {
		c.yticks = append(c.yticks, tick{q, fmt.Sprintf("%g", q)})
	}
	return c
}
