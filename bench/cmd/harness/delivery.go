package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/streamscore/streamscore/producers"
)

// deliveryConfig is one configuration of the delivery section.
type deliveryConfig struct {
	mode    string
	batches int // delivery.batches_per_transaction; exactly_once only
	// interval is delivery.transaction_interval; zero keeps the default.
	interval time.Duration
}

func (c deliveryConfig) exactly() bool { return c.mode == producers.ExactlyOnce }

// name names the run's processes, topics and groups.
func (c deliveryConfig) name() string {
	if c.exactly() {
		return fmt.Sprintf("exactly-once-x%d", c.batches)
	}
	return "at-least-once"
}

// label is the configuration as the report shows it.
func (c deliveryConfig) label() string {
	if c.exactly() {
		return fmt.Sprintf("exactly_once, %d batch%s per transaction", c.batches, plural(c.batches, "es"))
	}
	return "at_least_once"
}

// yaml is what the run appends to the standard configuration. A
// transaction covers at most pipeline.publishes batches (config refuses
// fewer), so the publishes in flight rise with the batches per transaction
// above the default 4.
func (c deliveryConfig) yaml() string {
	if !c.exactly() {
		return "delivery: {mode: at_least_once}\n"
	}
	iv := ""
	if c.interval > 0 {
		iv = ", transaction_interval: " + c.interval.String()
	}
	y := fmt.Sprintf("delivery: {mode: exactly_once, batches_per_transaction: %d%s}\n", c.batches, iv)
	if c.batches > 4 {
		y += fmt.Sprintf("pipeline: {publishes: %d}\n", c.batches)
	}
	return y
}

func plural(n int, suffix string) string {
	if n == 1 {
		return ""
	}
	return suffix
}

// deliverySection runs streamscore over the backlog with at_least_once and
// with exactly_once at each of o.txnBatches batches per transaction,
// alternating o.repeat times, then each configuration at one load (a
// fraction of at_least_once's sustained rate) for latency.
func (b *bench) deliverySection(ctx context.Context, res *Results, o options) error {
	configs := []deliveryConfig{{mode: producers.AtLeastOnce}}
	for _, n := range o.txnBatches {
		configs = append(configs, deliveryConfig{mode: producers.ExactlyOnce, batches: n, interval: o.txnInterval})
	}
	logf("delivery: %d configurations over the backlog, %d run(s) each", len(configs), o.repeat)
	runs := make([][]Run, len(configs))
	for range o.repeat {
		for j, c := range configs {
			r, _, err := b.backlogRunOn(ctx, c.name(), b.scorerWith(b.streamscore, c.yaml()), 0, b.backlog, true)
			if err != nil {
				return fmt.Errorf("delivery, %s: %w", c.label(), err)
			}
			runs[j] = append(runs[j], r)
		}
	}
	d := &Delivery{Load: o.deliveryLoad}
	for j, c := range configs {
		d.Runs = append(d.Runs, DeliveryRun{Mode: c.mode, BatchesPerTransaction: c.batches, Extra: c.yaml(), Backlog: best(runs[j])})
	}
	res.Delivery = d
	base := d.Runs[0].Backlog.Rate
	d.Rate = o.deliveryLoad * base
	if o.skipLatency {
		res.Skipped = append(res.Skipped, "delivery latency")
		return nil
	}
	for j, c := range configs {
		pts, _, _, err := b.latency(ctx, c.name()+"-latency", b.scorerWith(b.streamscore, c.yaml()), base, []float64{o.deliveryLoad}, o.latencyDur, c.exactly())
		if err != nil {
			return fmt.Errorf("delivery latency, %s: %w", c.label(), err)
		}
		d.Runs[j].Latency = pts[0]
	}
	return nil
}

// deliveryMarkdown is the delivery section of the report.
func (r *Results) deliveryMarkdown(w func(string, ...any), tpSVG, latSVG string) {
	d := r.Delivery
	if d == nil || len(d.Runs) == 0 {
		return
	}
	base := d.Runs[0].Backlog
	interval := ""
	w("## Delivery: at_least_once and exactly_once\n\n")
	w("The same backlog, the configurations alternating (best of %d runs each). Progress is counted from the consumer group's committed input offsets, which exactly_once commits in the transaction that writes the scored events: the rate is what a read_committed reader downstream can see. ", max(1, len(base.Rates)))
	w("Latency: each configuration alone at %.0f%% of at_least_once's sustained rate (%s events/s), open loop; exactly_once's scored events are read with read_committed, so its latency runs to the commit of the transaction that holds them. CPU µs/event at load is the scorer's per event sent.\n\n", d.Load*100, thousands(d.Rate))
	w("| delivery | events/s | vs at_least_once | CPU µs/event | broker CPU µs/event | p50 ms | p99 ms | CPU µs/event at load | broker at load | all runs |\n")
	w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, run := range d.Runs {
		c := deliveryConfig{mode: run.Mode, batches: run.BatchesPerTransaction}
		if c.exactly() && interval == "" {
			interval = "delivery.transaction_interval at its default (100 ms)"
			if strings.Contains(run.Extra, "transaction_interval") {
				interval = "the delivery.transaction_interval of --txn-interval"
			}
		}
		var rates []string
		for _, v := range run.Backlog.Rates {
			rates = append(rates, thousands(v))
		}
		note := strings.Join(rates, ", ") + bestWindow(run.Backlog)
		if !run.Backlog.Complete {
			note += ", time-limited"
		}
		p50, p99, cpu, broker := "–", "–", "–", "–"
		if run.Latency.Scored > 0 {
			p50, p99 = fmt.Sprintf("%.1f", run.Latency.P50), fmt.Sprintf("%.1f", run.Latency.P99)
			cpu, broker = fmt.Sprintf("%.1f", run.Latency.CPUMicros), fmt.Sprintf("%.1f", run.Latency.BrokerCPUMicros)
		}
		w("| %s | %s | %.2f× | %.1f | %.1f | %s | %s | %s | %s | %s |\n", c.label(), thousands(run.Backlog.Rate), ratio(run.Backlog.Rate, base.Rate),
			run.Backlog.CPUMicros, run.Backlog.BrokerCPUMicros, p50, p99, cpu, broker, note)
	}
	w("\nexactly_once runs with %s: a transaction commits after its batches or that long after its first batch, whichever comes first. With more than 4 batches per transaction pipeline.publishes is raised to match (the configuration refuses fewer). The configuration each run appended is in the JSON results.\n\n", interval)
	w("![delivery throughput](%s)\n\n", tpSVG)
	if d.Runs[0].Latency.Scored > 0 {
		w("![delivery latency CDF](%s)\n\n", latSVG)
	}
}

// deliveryThroughputChart plots exactly_once's rate against batches per
// transaction, at_least_once as a dashed line at its rate.
func (r *Results) deliveryThroughputChart() *chart {
	d := r.Delivery
	c := &chart{
		title: "Delivery: throughput against batches per transaction", xlabel: "batches per transaction (exactly_once)", ylabel: "events per second",
		xlog: true, xmin: 1, xmax: 1, ymin: 0, ymax: 0,
	}
	var eos [][2]float64
	for _, run := range d.Runs {
		if run.Mode == producers.ExactlyOnce && run.Backlog.Rate > 0 {
			x := float64(run.BatchesPerTransaction)
			eos = append(eos, [2]float64{x, run.Backlog.Rate})
			c.xmax = math.Max(c.xmax, x)
			c.xticks = append(c.xticks, tick{x, f0(x)})
		}
		c.ymax = math.Max(c.ymax, run.Backlog.Rate)
	}
	if c.xmax <= c.xmin {
		c.xmax = c.xmin * 4
	}
	c.xmax *= 1.3
	if c.ymax == 0 {
		c.ymax = 1
	}
	step := niceStep(c.ymax / 5)
	c.ymax = math.Ceil(c.ymax*1.1/step) * step
	for v := 0.0; v <= c.ymax*1.001; v += step {
		c.yticks = append(c.yticks, tick{v, si(v)})
	}
	if base := d.Runs[0].Backlog.Rate; base > 0 {
		c.series = append(c.series, series{name: "at_least_once", color: palette[0], dash: "6 4", pts: [][2]float64{{c.xmin, base}, {c.xmax, base}}})
	}
	c.series = append(c.series, series{name: "exactly_once", color: palette[1], pts: eos})
	return c
}

// deliveryLatencyChart plots each configuration's latency CDF at the load.
func (r *Results) deliveryLatencyChart() *chart {
	var sets []cdfSet
	for i, run := range r.Delivery.Runs {
		c := deliveryConfig{mode: run.Mode, batches: run.BatchesPerTransaction}
		name := "at_least_once"
		dash := "6 4"
		if c.exactly() {
			name = fmt.Sprintf("exactly_once ×%d", c.batches)
			dash = ""
		}
		sets = append(sets, cdfSet{name: name, color: palette[i%len(palette)], dash: dash, cdf: run.Latency.CDF})
	}
	return cdfChart(fmt.Sprintf("Delivery: event-to-score latency at %.0f%% load (CDF)", r.Delivery.Load*100), sets)
}

// bestWindow says what the best run's rate was measured over.
func bestWindow(r Run) string {
	s := fmt.Sprintf(" (best: %s events in %.1f s", thousands(float64(r.Events)), r.Seconds)
	if r.StartUp {
		s += ", start-up included: too few events"
	}
	return s + ")"
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
