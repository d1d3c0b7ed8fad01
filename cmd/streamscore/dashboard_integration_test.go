//go:build integration

package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestDashboardMetricsAreExposed runs `streamscore run` against the real
// broker, scores events (and a few dead letters, so labelled series exist),
// scrapes its /metrics, and checks that every metric the Grafana dashboard
// and the alert rules query is there.
func TestDashboardMetricsAreExposed(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	want := dashboardMetrics(t)
	in, out, dlq, group := uniqueTopics("it-dashboard")
	cfg := linearConfig(t, in, out, dlq, group)
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	const n, bad = 2000, 20
	produce(t, brokers, in, makeEvents(n, 100, 11))
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: in, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	for i := range bad {
		if err := w.WriteMessages(t.Context(), kafka.Message{Key: []byte("bad"), Value: fmt.Appendf(nil, "not json %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	cmd, logs := startRun(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)

	// Scrape until every event is accounted for, then check the names.
	var have map[string]float64
	deadline := time.Now().Add(2 * time.Minute)
	for {
		have = servicetest.Scrape(t, "http://"+addr+"/metrics").Sums()
		if have["streamscore_pipeline_scored_events_total"] >= n && have["streamscore_pipeline_dead_letters_total"] >= bad {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2m: %v scored, %v dead letters; want %d and %d", have["streamscore_pipeline_scored_events_total"], have["streamscore_pipeline_dead_letters_total"], n, bad)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var missing []string
	for m, where := range want {
		if _, ok := have[m]; !ok {
			missing = append(missing, fmt.Sprintf("%s (used by %s)", m, strings.Join(where, "; ")))
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("a running `streamscore run` does not expose %s", m)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after SIGTERM: %v", err)
	}
}
