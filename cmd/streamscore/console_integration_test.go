//go:build integration

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestConsoleInBrowser runs `streamscore run` with drift monitoring, opens
// its console in headless Chromium and, while events flow, checks that the
// page shows what /metrics says (within one refresh), that a drift alert
// appears without a reload, that the page reports no errors, and that it
// fits a phone-width window. Screenshots go to .run/test-output/console/
// (or $STREAMSCORE_TEST_OUTPUT/console/).
func TestConsoleInBrowser(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "STREAMSCORE_REDIS")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	br := startBrowser(t)
	baseline := driftBaseline(t)
	in, out, dlq, group := uniqueTopics("it-console")
	prefix := "it-console-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg := driftConfig(t, in, out, dlq, group, baseline, prefix, in+".drift",
		"  bucket: 1s\n  window: 3\n  flush_interval: 200ms\n  evaluate_interval: 250ms\n  min_events: 500\nconsole: {refresh: 500ms}")
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	cmd, logs := startRun(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	base := "http://" + addr
	servicetest.WaitAssigned(t, 30*time.Second, logs)

	br.call(t, "Page.navigate", map[string]any{"url": base + "/"})
	waitPage(t, br, "the first status", "document.body.dataset.time !== undefined", 10*time.Second)
	var marker bool
	br.eval(t, "window.__sameLoad = true", &marker)

	// Reference events at 3000/s for 4 s, then the same shifted by 3σ on
	// f00 and f01 for 3 s; the page is read while they flow.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		produceAt(ctx, t, brokers, in, driftEvents(12000, 2, "ref", 0), 3000)
		produceAt(ctx, t, brokers, in, driftEvents(9000, 3, "shift", 3), 3000)
	}()

	// The numbers shown match /metrics within one refresh: read /metrics,
	// wait for the page's next refresh, read the page, read /metrics again.
	// Check until two reads fell while the count moved (a loaded broker
	// can hold fetches back for seconds), at most 20 times.
	matched := 0
	for i := 0; i < 20 && matched < 2; i++ {
		before := servicetest.Scrape(t, base+"/metrics").Sums()
		since := time.Now().UnixMilli()
		waitPage(t, br, "a refresh", fmt.Sprintf("Number(document.body.dataset.time) > %d", since), 5*time.Second)
		var shown map[string]string
		br.eval(t, `({out: document.getElementById("out-total").textContent, in: document.getElementById("in-total").textContent,
			dead: document.getElementById("dead-total").textContent, batches: document.getElementById("b-total").textContent})`, &shown)
		after := servicetest.Scrape(t, base+"/metrics").Sums()
		for _, c := range []struct{ field, metric string }{
			{"out", "streamscore_pipeline_scored_events_total"},
			{"in", "streamscore_consumer_fetched_records_total"},
			{"dead", "streamscore_pipeline_dead_letters_total"},
			{"batches", "streamscore_pipeline_batch_rows_count"},
		} {
			v, err := strconv.ParseFloat(shown[c.field], 64)
			lo, hi := before[c.metric], after[c.metric]
			if err != nil || v < lo || v > hi {
				t.Errorf("page shows %s = %q; /metrics said %v before and %v after", c.field, shown[c.field], lo, hi)
			}
		}
		if before["streamscore_pipeline_scored_events_total"] < after["streamscore_pipeline_scored_events_total"] {
			matched++ // a check while the count was moving
		}
		time.Sleep(300 * time.Millisecond)
	}
	if matched == 0 {
		t.Errorf("the scored count never moved during the checks: nothing flowed")
	}
	br.screenshot(t, filepath.Join(testOutput(t, "console"), "before-drift-1280.png"), 1280, 0)

	// The drift alert appears without a reload.
	waitPage(t, br, "f00 drifting", `[...document.querySelectorAll("#drift tr.drifting td:first-child")].some(td => td.textContent === "f00")`, 20*time.Second)
	var first string
	br.eval(t, `document.querySelector("#drift tbody tr td").textContent`, &first)
	if first != "f00" && first != "f01" {
		t.Errorf("first drift row is %q, want a drifting column (f00 or f01) first", first)
	}
	br.eval(t, "window.__sameLoad === true", &marker)
	if !marker {
		t.Errorf("the page was reloaded; the drift state should appear in place")
	}
	<-produced
	br.screenshot(t, filepath.Join(testOutput(t, "console"), "drift-1280.png"), 1280, 0)
	br.screenshot(t, filepath.Join(testOutput(t, "console"), "drift-390.png"), 390, 0)
	var overflow int
	br.eval(t, "document.documentElement.scrollWidth - window.innerWidth", &overflow)
	if overflow > 0 {
		t.Errorf("at 390 px the page is %d px wider than the window", overflow)
	}

	// The JSON the page reads is there for scripts too, and says ready.
	var st struct {
		Command string `json:"command"`
		Ready   struct {
			OK bool `json:"ok"`
		} `json:"ready"`
		Drift []struct {
			Column   string `json:"column"`
			Drifting bool   `json:"drifting"`
		} `json:"drift"`
		Lag []struct {
			Partition int `json:"partition"`
		} `json:"lag"`
	}
	getJSON(t.Context(), t, base+"/api/status", &st)
	if st.Command != "run" || !st.Ready.OK || len(st.Drift) == 0 || !st.Drift[0].Drifting || len(st.Lag) != 8 {
		t.Errorf("/api/status = %+v", st)
	}

	for _, e := range br.errors() {
		t.Errorf("the page reported: %s", e)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after SIGTERM: %v", err)
	}
}

// waitPage polls a JavaScript condition in the page until it is true.
func waitPage(t *testing.T, br *browser, what, cond string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		br.eval(t, "(() => { try { return !!("+cond+") } catch (e) { return false } })()", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not show %s within %s (errors: %v)", what, timeout, br.errors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
