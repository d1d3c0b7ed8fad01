//go:build integration && soak

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/bench/load"
)

// TestSoak runs `streamscore run` on the standard workload at half its
// sustained rate, open loop, for STREAMSCORE_SOAK_DURATION (default 10m),
// sampling its resident memory every 10 s, and fails unless memory stays
// flat: the largest sample of the last window is at most 1.2 times the
// largest of the first window after warm-up (windows of a minute, or a
// fifth of the run when it is shorter than five minutes). The sustained
// rate is measured first over a backlog, unless STREAMSCORE_SOAK_RATE
// gives the rate to run at. `make soak` runs it with the services up.
func TestSoak(t *testing.T) {
	brokers := os.Getenv("STREAMSCORE_BROKERS")
	if brokers == "" || os.Getenv("ONNXRUNTIME_LIB") == "" {
		t.Fatal("STREAMSCORE_BROKERS and ONNXRUNTIME_LIB must be set: run `make soak`")
	}
	dur := 10 * time.Minute
	if v := os.Getenv("STREAMSCORE_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			t.Fatalf("STREAMSCORE_SOAK_DURATION=%q: want a duration of at least 1m", v)
		}
		dur = d
	}
	window := min(time.Minute, dur/5)
	bl := strings.Split(brokers, ",")
	ctx := t.Context()
	dir := t.TempDir()
	bin := filepath.Join(dir, "streamscore")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/streamscore").CombinedOutput(); err != nil {
		t.Fatalf("building streamscore: %v\n%s", err, out)
	}
	schema, _ := filepath.Abs(schemaPath)
	mdl, _ := filepath.Abs(modelPath)
	prefix := fmt.Sprintf("soak.%d", time.Now().Unix())
	// Retention keeps the disk bounded over a long run.
	const retention = 256 << 20
	topics := []string{prefix + ".in", prefix + ".out", prefix + ".dlq", prefix + ".backlog", prefix + ".backlog.out"}
	if err := load.CreateTopics(ctx, bl, 8, retention, topics...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { load.DeleteTopics(context.Background(), bl, topics...) })
	cfg := func(group, in, out string) load.ScorerConfig {
		return load.ScorerConfig{Brokers: bl, Group: group, Input: in, Output: out, DLQ: prefix + ".dlq",
			Schema: schema, Model: mdl, MaxRows: 1024, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond}
	}

	rate, _ := strconv.ParseFloat(os.Getenv("STREAMSCORE_SOAK_RATE"), 64)
	if rate <= 0 {
		const n = 300_000
		if _, err := load.Backlog(ctx, bl, prefix+".backlog", n, load.NewEvents(1)); err != nil {
			t.Fatal(err)
		}
		counter, err := load.NewCounter(ctx, bl, prefix+".backlog.out")
		if err != nil {
			t.Fatal(err)
		}
		p, err := load.StartScorer(ctx, bin, dir, "soak-max", cfg(prefix+".g0", prefix+".backlog", prefix+".backlog.out"), 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		th, err := load.Measure(ctx, counter, load.MeasureConfig{Target: n, Exited: p.Done()})
		p.Stop(15 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rate = th.Rate / 2
		t.Logf("sustained rate %.0f events/s; soaking at %.0f", th.Rate, rate)
	}

	p, err := load.StartScorer(ctx, bin, dir, "soak", cfg(prefix+".g", prefix+".in", prefix+".out"), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(15 * time.Second)
	start := time.Now()
	p.SampleRSS(10 * time.Second)
	res, err := load.Rate(ctx, bl, prefix+".in", rate, dur, load.NewEvents(2))
	if err != nil {
		t.Fatal(err)
	}
	counter, err := load.NewCounter(ctx, bl, prefix+".out")
	if err != nil {
		t.Fatal(err)
	}
	scored, _ := counter.Count(ctx)
	u := p.Stop(15 * time.Second)
	t.Logf("sent %d events in %s; %d scored when the producer stopped; peak RSS %.0f MB", res.Sent, res.Elapsed.Round(time.Second), scored, float64(u.PeakRSS)/1e6)

	samples := p.RSS()
	var first, last int64
	for _, s := range samples {
		at := s.At.Sub(start)
		t.Logf("RSS at %5.0fs: %.1f MB", at.Seconds(), float64(s.Bytes)/1e6)
		if at >= window && at < 2*window {
			first = max(first, s.Bytes)
		}
		if at >= dur-window {
			last = max(last, s.Bytes)
		}
	}
	if first == 0 || last == 0 {
		t.Fatalf("too few RSS samples (%d) to compare the first and last windows", len(samples))
	}
	t.Logf("max RSS of the first window after warm-up %.1f MB, of the last %.1f MB (ratio %.2f)", float64(first)/1e6, float64(last)/1e6, float64(last)/float64(first))
	if float64(last) > 1.2*float64(first) {
		t.Errorf("RSS grew: last window max %.1f MB > 1.2 × first window max %.1f MB", float64(last)/1e6, float64(first)/1e6)
	}
}
