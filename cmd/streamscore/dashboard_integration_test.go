//go:build integration

package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestDashboardMetricsAreExposed runs `streamscore run` against the real
// broker with every optional part on (drift monitoring, a Redis feature set,
// a registry model with a canary and a challenger, HTTP scoring), scores
// events (and a few dead letters, so labelled series exist) and one HTTP
// request, scrapes its /metrics, and checks that every metric the Grafana
// dashboard and the alert rules query is there.
func TestDashboardMetricsAreExposed(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	want := dashboardMetrics(t)
	redisAddr := strings.Split(servicetest.Env(t, "STREAMSCORE_REDIS"), ",")[0]
	in, out, dlq, group := uniqueTopics("it-dashboard")
	loadUserFeatures(t, redisAddr, makeUserFeatures(100))
	reg := modelsRegistry(t)
	baseline := driftBaseline(t)
	cfg := writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 8}
schema: %s/testdata/features/linear_fs.schema.yaml
model:
  path: %s/linear
  canary: {version: "2", fraction: 0.3}
  challenger: {version: "2"}
  serve: {enabled: true}
batch: {max_rows: 512, max_wait: 10ms}
redis: {addrs: [%q]}
drift:
  enabled: true
  baseline: %s
  prefix: it-dashboard-%d
  bucket: 1s
  window: 3
  flush_interval: 200ms
  evaluate_interval: 250ms
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, repoRoot(t), reg, redisAddr, baseline, time.Now().UnixNano()))
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	const n, bad = 2000, 20
	evs := makeEvents(n, 100, 11)
	produce(t, brokers, in, evs)
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: in, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	for i := range bad {
		if err := w.WriteMessages(t.Context(), kafka.Message{Key: []byte("bad"), Value: fmt.Appendf(nil, "not json %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	cmd, logs := startRun(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	res, err := http.Post("http://"+addr+"/v1/score", "application/json", bytes.NewReader(evs[0].value))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/score: %s: %s", res.Status, b)
	}
	res.Body.Close()

	// Scrape until every event is accounted for, then check the names.
	var have map[string]float64
	deadline := time.Now().Add(2 * time.Minute)
	for {
		have = servicetest.Scrape(t, "http://"+addr+"/metrics").Sums()
		if have["streamscore_pipeline_scored_events_total"] >= n && have["streamscore_pipeline_dead_letters_total"] >= bad && have["streamscore_drift_window_events"] > 0 {
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
	// The series the dashboard filters by the $model variable carry the
	// model's name.
	scrape := servicetest.Scrape(t, "http://"+addr+"/metrics")
	for _, m := range modelFiltered(t) {
		n := 0
		for series := range scrape {
			if !strings.HasPrefix(series, m+"{") {
				continue
			}
			n++
			if !strings.Contains(series, `model="linear"`) {
				t.Errorf("%s has no model=\"linear\" label; the dashboard filters it by $model", series)
			}
		}
		if n == 0 {
			t.Errorf("no series of %s, which the dashboard filters by $model", m)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after SIGTERM: %v", err)
	}
}

// modelFiltered returns the metrics whose dashboard queries select
// model=~"$model".
func modelFiltered(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana/streamscore.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range modelSelector.FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	if len(out) < 10 {
		t.Fatalf("the dashboard filters only %d metrics by $model: %v", len(out), out)
	}
	return out
}

// modelSelector matches a metric selector with model=~"$model" in the
// dashboard's JSON (quotes escaped).
var modelSelector = regexp.MustCompile(`(streamscore_[a-z0-9_]+)\{[^}]*model=~\\"\$model\\"`)
