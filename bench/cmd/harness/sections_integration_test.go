//go:build integration

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/producers"
)

// TestDeliveryAndFormatsSections runs the harness's delivery and formats
// sections at a small size against the real broker and checks what they
// report: every delivery configuration scored the whole backlog (counted
// from committed offsets) and had its latency measured, read_committed
// under exactly_once; every format decoded in process and was scored end to
// end, the binary events smaller than the JSON ones; and the report and the
// plots were written. The figures themselves are not asserted: the machine
// is shared, and under -race the in-process decode is several times slower.
func TestDeliveryAndFormatsSections(t *testing.T) {
	if testing.Short() || os.Getenv("STREAMSCORE_HARNESS_TEST") != "1" {
		t.Skip("runs streamscore for a few minutes of busy CPU, which would slow the timing tests beside it in make test; make bench runs it (STREAMSCORE_HARNESS_TEST=1)")
	}
	servicetest.Env(t, servicetest.BrokersEnv)
	servicetest.Env(t, servicetest.ONNXRuntimeEnv)
	out := t.TempDir()
	o := parseArgs([]string{
		"--sections", "delivery,formats", "--quick", "--txn-batches", "1,4",
		"--latency-duration", "3s", "--raw-duration", "50ms", "--out", out,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		t.Fatalf("harness: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(matches) != 1 {
		t.Fatalf("results: %v, want one JSON file", matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("reading %s: %v", matches[0], err)
	}

	if res.Delivery == nil {
		t.Fatal("no delivery section in the results")
	}
	wantModes := []struct {
		mode    string
		batches int
	}{{producers.AtLeastOnce, 0}, {producers.ExactlyOnce, 1}, {producers.ExactlyOnce, 4}}
	if len(res.Delivery.Runs) != len(wantModes) {
		t.Fatalf("delivery runs: %d, want %d", len(res.Delivery.Runs), len(wantModes))
	}
	for i, run := range res.Delivery.Runs {
		w := wantModes[i]
		if run.Mode != w.mode || run.BatchesPerTransaction != w.batches {
			t.Errorf("delivery run %d: %s ×%d, want %s ×%d", i, run.Mode, run.BatchesPerTransaction, w.mode, w.batches)
		}
		if !run.Backlog.Complete || run.Backlog.Rate <= 0 || run.Backlog.CPUMicros <= 0 {
			t.Errorf("delivery %s ×%d over the backlog: complete %v, %.0f events/s, %.1f µs CPU/event; want the whole backlog committed",
				run.Mode, run.BatchesPerTransaction, run.Backlog.Complete, run.Backlog.Rate, run.Backlog.CPUMicros)
		}
		lat := run.Latency
		if lat.Scored == 0 || lat.P50 <= 0 || lat.P99 < lat.P50 {
			t.Errorf("delivery %s ×%d latency: %d scored, p50 %.1f ms, p99 %.1f ms", run.Mode, run.BatchesPerTransaction, lat.Scored, lat.P50, lat.P99)
		}
		// About every event sent in the measured window was read back
		// (read_committed under exactly_once): none lost in the section.
		if expect := lat.Rate * 2; float64(lat.Scored) < 0.8*expect {
			t.Errorf("delivery %s ×%d latency: %d scored events in the window, want about %.0f", run.Mode, run.BatchesPerTransaction, lat.Scored, expect)
		}
	}

	if res.Formats == nil || len(res.Formats.Runs) != 3 {
		t.Fatalf("formats section: %+v, want JSON, Avro and Protobuf", res.Formats)
	}
	var jsonBytes float64
	for _, fr := range res.Formats.Runs {
		if fr.Decode.NsPerRow <= 0 || fr.Decode.CPUNsPerRow <= 0 {
			t.Errorf("%s decode: %+v", fr.Format, fr.Decode)
		}
		if !fr.Backlog.Complete || fr.Backlog.Rate <= 0 {
			t.Errorf("%s end to end: complete %v, %.0f events/s", fr.Format, fr.Backlog.Complete, fr.Backlog.Rate)
		}
		switch fr.Format {
		case "json":
			jsonBytes = fr.EventBytes
		default:
			if fr.EventBytes <= 0 || fr.EventBytes >= jsonBytes {
				t.Errorf("%s events of %.0f bytes, JSON's %.0f: want smaller", fr.Format, fr.EventBytes, jsonBytes)
			}
		}
	}
	var targets []string
	for _, tg := range res.Targets {
		targets = append(targets, tg.Name)
	}
	if got := strings.Join(targets, "; "); got != "avro decode in process; protobuf decode in process" {
		t.Errorf("targets: %q, want the binary formats' decode targets alone", got)
	}

	base := strings.TrimSuffix(matches[0], ".json")
	md, err := os.ReadFile(base + ".md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Delivery: at_least_once and exactly_once", "exactly_once, 4 batches per transaction", "## Formats: JSON, Avro and Protobuf", "≤ 0.5"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report has no %q", s)
		}
	}
	for name, mark := range map[string]string{"delivery-throughput": "<circle", "delivery-latency": "<polyline", "formats": "<circle"} {
		svg, err := os.ReadFile(base + "-" + name + ".svg")
		if err != nil || !strings.Contains(string(svg), mark) {
			t.Errorf("plot %s: %v, or nothing drawn (no %s)", name, err, mark)
		}
	}
	if _, err := os.Stat(base + "-throughput.svg"); err == nil {
		t.Error("the standard section's plot was written although the section did not run")
	}
}
