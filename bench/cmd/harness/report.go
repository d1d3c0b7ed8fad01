package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Targets of the standard workload (issue 8), for the report; none is
// asserted.
const (
	targetPassThrough = 0.7
	targetMicroBatch  = 5
	targetPerEvent    = 30
	targetSlackMs     = 10  // p99 at 50% load at most max_wait + this
	targetRSS         = 300 // MB
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
	r.Ratios = Ratios{
		PassThrough: ratio(s, r.Raw.PassThrough.Rate),
		MicroBatch:  ratio(s, r.Peers.MicroBatch.Rate),
		PerEvent:    ratio(s, r.Peers.PerEvent.Rate),
	}
	add := func(name, want, got string, met bool) {
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Got: got, Met: met})
	}
	add("throughput / kafka-go pass-through", fmt.Sprintf("≥ %.1f×", targetPassThrough), fmt.Sprintf("%.2f×", r.Ratios.PassThrough), r.Ratios.PassThrough >= targetPassThrough)
	if r.Peers.MicroBatch.Rate > 0 {
		add("throughput / Python micro-batched", fmt.Sprintf("≥ %d×", targetMicroBatch), fmt.Sprintf("%.1f×", r.Ratios.MicroBatch), r.Ratios.MicroBatch >= targetMicroBatch)
	}
	if r.Peers.PerEvent.Rate > 0 {
		add("throughput / Python per-event", fmt.Sprintf("≥ %d×", targetPerEvent), fmt.Sprintf("%.0f×", r.Ratios.PerEvent), r.Ratios.PerEvent >= targetPerEvent)
	}
	for _, p := range r.Scorer.Latency {
		if math.Abs(p.Load-0.5) < 1e-9 {
			limit := r.Workload.MaxWaitMs + targetSlackMs
			add("p99 latency at 50% load", fmt.Sprintf("≤ %.0f ms (max_wait + %d ms)", limit, targetSlackMs), fmt.Sprintf("%.1f ms", p.P99), p.P99 <= limit)
		}
	}
	mb := float64(r.Scorer.PeakRSS) / 1e6
	add("peak RSS", fmt.Sprintf("≤ %d MB", targetRSS), fmt.Sprintf("%.0f MB", mb), mb <= targetRSS)
}

// write writes the JSON, the Markdown and the plots into dir.
func (r *Results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, r.Date+"-"+r.Host)
	tp, lat := base+"-throughput.svg", base+"-latency.svg"
	if err := os.WriteFile(tp, []byte(r.throughputChart().svg()), 0o644); err != nil {
		return err
	}
	if len(r.Scorer.Latency) > 0 {
		if err := os.WriteFile(lat, []byte(r.latencyChart().svg()), 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(base+".json", r); err != nil {
		return err
	}
	md := r.markdown(filepath.Base(tp), filepath.Base(lat))
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

func (r *Results) markdown(tpSVG, latSVG string) string {
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
		w("| %s | %s | %.1f | %.1f | %s | %s |\n", label, thousands(run.Rate), run.CPUMicros, run.BrokerCPUMicros, mib(run.PeakRSS), note)
	}
	row("kafka-go pass-through (no work)", r.Raw.PassThrough)
	row("**streamscore**", r.Scorer.Max)
	if r.Scorer.Baseline != nil {
		row(fmt.Sprintf("streamscore, baseline binary (%.2f× of it)", ratio(r.Scorer.Max.Rate, r.Scorer.Baseline.Rate)), *r.Scorer.Baseline)
	}
	if r.Scorer.Tried != nil {
		row(fmt.Sprintf("%s (%.2f×)", r.Scorer.Tried.Name, ratio(r.Scorer.Tried.Rate, r.Scorer.Max.Rate)), *r.Scorer.Tried)
	}
	row("Python micro-batched (confluent-kafka + numpy + onnxruntime)", r.Peers.MicroBatch)
	row("Python one inference per event", r.Peers.PerEvent)
	w("| backlog writer (kafka-go produce only) | %s | | | | |\n\n", thousands(r.Backlog.Rate))

	w("## Ratios and targets\n\n| target | want | got | met |\n| --- | --- | --- | --- |\n")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "**no**"
		}
		w("| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, met)
	}
	w("| RSS flat over a 10-minute soak | last minute ≤ 1.2 × first | see `make soak` | |\n\n")

	if len(r.Scorer.Latency) > 0 {
		w("## Event-to-score latency\n\n")
		w("Open-loop producer at a fixed rate (a fraction of the sustained rate above); each event carries its due send time, and the latency is from then until the scored event is read from the output topic. The first second of each load is not counted.\n\n")
		w("| what | load | events/s | p50 ms | p95 ms | p99 ms | max ms | events in window |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, set := range []struct {
			name string
			pts  []LoadPoint
		}{{"**streamscore**", r.Scorer.Latency}, {"kafka-go pass-through", r.Raw.PassThroughLatency}} {
			for _, p := range set.pts {
				w("| %s | %.0f%% | %s | %.1f | %.1f | %.1f | %.1f | %s |\n", set.name, p.Load*100, thousands(p.Rate), p.P50, p.P95, p.P99, p.Max, thousands(float64(p.Scored)))
			}
		}
		w("\n![latency CDF](%s)\n\n", latSVG)
	}

	w("## Raw limits in process (one goroutine, no Kafka)\n\n")
	w("| stage | rows/s | ns/row |\n| --- | ---: | ---: |\n")
	w("| decode (JSON → Arrow), 1024 events per batch | %s | %.0f |\n", thousands(r.Raw.Decode.RowsPerSec), r.Raw.Decode.NsPerRow)
	w("| encode (scored event JSON) | %s | %.0f |\n\n", thousands(r.Raw.Encode.RowsPerSec), r.Raw.Encode.NsPerRow)
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
	w("\n![throughput against batch size](%s)\n\n", tpSVG)
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

// throughputChart plots rows/s against batch size: ONNX Runtime alone, in
// process, end to end, with the pass-through and the peers as flat lines.
func (r *Results) throughputChart() *chart {
	c := &chart{
		title: "Throughput against batch size", xlabel: "batch size (rows)", ylabel: "rows or events per second",
		xlog: true, ylog: true, xmin: 1, xmax: 4096, ymin: math.Inf(1), ymax: 0,
	}
	for v := 1.0; v <= 4096; v *= 4 {
		c.xticks = append(c.xticks, tick{v, f0(v)})
	}
	add := func(name string, color string, dashed bool, pts [][2]float64) {
		if len(pts) == 0 {
			return
		}
		for _, p := range pts {
			if p[1] > 0 {
				c.ymin, c.ymax = math.Min(c.ymin, p[1]), math.Max(c.ymax, p[1])
			}
		}
		c.series = append(c.series, series{name: name, color: color, dashed: dashed, pts: pts})
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
	flat := func(v float64) [][2]float64 {
		if v <= 0 {
			return nil
		}
		return [][2]float64{{1, v}, {4096, v}}
	}
	add("ONNX Runtime alone", palette[0], false, ort)
	add("decode+infer+encode", palette[2], false, inproc)
	add("streamscore end to end", palette[1], false, e2e)
	add("kafka-go pass-through", palette[4], true, flat(r.Raw.PassThrough.Rate))
	add("Python micro-batched", palette[3], true, flat(r.Peers.MicroBatch.Rate))
	add("Python per event", palette[5], true, flat(r.Peers.PerEvent.Rate))
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
	add := func(i int, p LoadPoint, what string, dashed bool) {
		var pts [][2]float64
		for _, q := range p.CDF {
			v := math.Max(q.Value, 0.1)
			pts = append(pts, [2]float64{v, q.Fraction})
			c.xmin, c.xmax = math.Min(c.xmin, v), math.Max(c.xmax, v)
		}
		c.series = append(c.series, series{name: fmt.Sprintf("%s %.0f%% (%s/s)", what, p.Load*100, si(p.Rate)), color: palette[i%len(palette)], dashed: dashed, pts: pts})
	}
	for i, p := range r.Scorer.Latency {
		add(i, p, "streamscore", false)
	}
	for i, p := range r.Raw.PassThroughLatency {
		add(i, p, "pass-through", true)
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
