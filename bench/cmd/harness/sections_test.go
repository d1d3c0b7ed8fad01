package main

import (
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/bench/load"
)

func TestDeliveryConfigYAML(t *testing.T) {
	tests := []struct {
		name string
		c    deliveryConfig
		want string
	}{
		{"at least once", deliveryConfig{mode: "at_least_once"}, "delivery: {mode: at_least_once}\n"},
		{"one batch", deliveryConfig{mode: "exactly_once", batches: 1}, "delivery: {mode: exactly_once, batches_per_transaction: 1}\n"},
		{"the default publishes hold 4", deliveryConfig{mode: "exactly_once", batches: 4}, "delivery: {mode: exactly_once, batches_per_transaction: 4}\n"},
		{"an interval", deliveryConfig{mode: "exactly_once", batches: 2, interval: 500 * time.Millisecond}, "delivery: {mode: exactly_once, batches_per_transaction: 2, transaction_interval: 500ms}\n"},
		{"more batches raise publishes", deliveryConfig{mode: "exactly_once", batches: 16}, "delivery: {mode: exactly_once, batches_per_transaction: 16}\npipeline: {publishes: 16}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.yaml(); got != tc.want {
				t.Fatalf("yaml() = %q, want %q", got, tc.want)
			}
		})
	}
}

// sectionsOnly is a run of the delivery and formats sections alone.
func sectionsOnly() *Results {
	cdf := []load.CDFPoint{{Value: 2, Fraction: 0}, {Value: 5, Fraction: 0.5}, {Value: 9, Fraction: 1}}
	run := func(rate float64) Run { return Run{Rate: rate, Rates: []float64{rate}, Complete: true, CPUMicros: 5} }
	return &Results{
		Workload: Workload{Events: 100_000},
		Delivery: &Delivery{Load: 0.25, Rate: 25_000, Runs: []DeliveryRun{
			{Mode: "at_least_once", Backlog: run(100_000), Latency: LoadPoint{Scored: 100, P50: 5, P99: 9, CDF: cdf}},
			{Mode: "exactly_once", BatchesPerTransaction: 1, Backlog: run(40_000), Latency: LoadPoint{Scored: 100, P50: 30, P99: 60, CDF: cdf}},
			{Mode: "exactly_once", BatchesPerTransaction: 4, Backlog: run(80_000), Latency: LoadPoint{Scored: 100, P50: 40, P99: 90, CDF: cdf}},
		}},
		Formats: &Formats{Pool: 8192, TargetDecodeMicros: targetBinaryDecodeMicros, Runs: []FormatRun{
			{Format: "json", EventBytes: 520, Decode: Rate{NsPerRow: 900, CPUNsPerRow: 800}, Backlog: run(100_000)},
			{Format: "avro", SchemaID: 1, EventBytes: 167, Decode: Rate{NsPerRow: 450, CPUNsPerRow: 400}, Backlog: run(150_000)},
			// Wall time under the target, CPU time over it: CPU decides.
			{Format: "protobuf", SchemaID: 3, EventBytes: 228, Decode: Rate{NsPerRow: 450, CPUNsPerRow: 600}, Backlog: run(140_000)},
		}},
	}
}

func TestSectionsReport(t *testing.T) {
	r := sectionsOnly()
	r.compare()
	want := map[string]bool{"avro decode in process": true, "protobuf decode in process": false}
	if len(r.Targets) != len(want) {
		t.Fatalf("targets %+v, want only the binary formats' decode", r.Targets)
	}
	for _, tg := range r.Targets {
		if met, ok := want[tg.Name]; !ok || met != tg.Met {
			t.Errorf("target %+v: want met=%v", tg, met)
		}
	}
	md := r.markdown(func(name string) string { return name + ".svg" })
	for _, s := range []string{
		"| exactly_once, 4 batches per transaction | 80,000 | 0.80× |",
		"| avro | 167 | 0.40 | 0.45 | ≤ 0.5 | yes | 150,000 | 1.50× |",
		"| protobuf | 228 | 0.60 | 0.45 | ≤ 0.5 | **no** (1.2× the target) |",
		"![delivery latency CDF](delivery-latency.svg)",
		"![formats](formats.svg)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report has no %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "Throughput over the backlog") {
		t.Error("report has the standard section, which did not run")
	}
	for name, c := range map[string]*chart{"delivery throughput": r.deliveryThroughputChart(), "delivery latency": r.deliveryLatencyChart(), "formats": r.formatsChart()} {
		svg := c.svg()
		if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("%s plot has NaN or Inf coordinates", name)
		}
		if !strings.Contains(svg, "exactly_once") && name != "formats" {
			t.Errorf("%s plot has no exactly_once series", name)
		}
	}
}

// TestShortWindowFlagged: a backlog run measured over less than minWindow
// is marked in the throughput table, one over it is not.
func TestShortWindowFlagged(t *testing.T) {
	r := &Results{}
	r.Raw.PassThrough = Run{Name: "passthrough", Rate: 245000, Rates: []float64{245000}, Events: 120000, Seconds: 0.5, Complete: true, CPUMicros: 5}
	r.Scorer.Max = Run{Name: "streamscore", Rate: 150000, Rates: []float64{150000}, Events: 900000, Seconds: 6, Complete: true, CPUMicros: 7}
	md := r.markdown(func(name string) string { return name + ".svg" })
	if !strings.Contains(md, "measured over 0.5 s, under 5 s") {
		t.Errorf("the 0.5 s window is not flagged:\n%s", md)
	}
	if strings.Count(md, "too short to trust") != 1 {
		t.Errorf("want exactly one flagged run:\n%s", md)
	}
}

// TestTriedNameIsOneLine keeps a multi-line --try-yaml on one table row.
func TestTriedNameIsOneLine(t *testing.T) {
	got := triedName("consumer: {min_bytes: 32768}\nproducer:  {requests: per_broker}\n")
	if want := "streamscore with: consumer: {min_bytes: 32768}; producer: {requests: per_broker}"; got != want {
		t.Errorf("triedName = %q, want %q", got, want)
	}
}
