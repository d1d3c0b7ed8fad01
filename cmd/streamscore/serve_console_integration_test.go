//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestServeConsoleInBrowser runs `streamscore serve` with a registry model,
// a canary and a challenger, opens its console in headless Chromium and,
// while clients send requests, checks that the page shows what /metrics
// says (requests and per-model rows, within one refresh), that it names the
// model and its lineup, that the Kafka stream's sections stay hidden, that the
// page reports no errors, and that it fits a phone-width window.
// Screenshots go to .run/test-output/console/serve-*.png (or
// $STREAMSCORE_TEST_OUTPUT/console/).
func TestServeConsoleInBrowser(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	br := startBrowser(t)
	reg := modelsRegistry(t)
	cfg := writeConfig(t, fmt.Sprintf(`
schema: %s/testdata/linear.schema.yaml
model:
  path: %s/linear
  canary: {version: "2", fraction: 0.3}
  challenger: {version: "2"}
  serve: {max_rows: 64, max_wait: 2ms}
http: {addr: "127.0.0.1:0"}
console: {refresh: 500ms}
log: {format: json}
`, repoRoot(t), reg))
	cmd, logs := startServe(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	base := "http://" + addr

	// Four clients send requests of 1 to 8 events, about 400 requests/s in
	// all, until the checks are done; one request in ten has an event that
	// is rejected.
	evs := makeEvents(4000, 200, 21)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for c := range 4 {
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for i := c; ctx.Err() == nil; i += 4 {
				n := 1 + i%8
				var body bytes.Buffer
				body.WriteByte('[')
				for j := range n {
					if j > 0 {
						body.WriteByte(',')
					}
					if j == 1 && i%10 == 0 {
						body.WriteString(`{"event_id":"bad"}`) // rejected: missing fields
						continue
					}
					body.Write(evs[(i*8+j)%len(evs)].value)
				}
				body.WriteByte(']')
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/score", &body)
				if res, err := http.DefaultClient.Do(req); err == nil {
					if res.StatusCode != http.StatusOK && ctx.Err() == nil {
						t.Errorf("POST /v1/score: %s", res.Status)
					}
					res.Body.Close()
				}
				select {
				case <-ctx.Done():
				case <-tick.C:
				}
			}
		})
	}

	br.call(t, "Page.navigate", map[string]any{"url": base + "/"})
	waitPage(t, br, "the first status", "document.body.dataset.time !== undefined", 10*time.Second)

	// The numbers shown match /metrics within one refresh: /metrics before,
	// the page after its next refresh, /metrics after. Two checks must fall
	// while the count moved.
	matched := 0
	for i := 0; i < 20 && matched < 2; i++ {
		before := servicetest.Scrape(t, base+"/metrics")
		since := time.Now().UnixMilli()
		waitPage(t, br, "a refresh", fmt.Sprintf("Number(document.body.dataset.time) > %d", since), 5*time.Second)
		var shown struct {
			Requests string     `json:"requests"`
			Rejected string     `json:"rejected"`
			Models   [][]string `json:"models"`
		}
		br.eval(t, `({requests: document.getElementById("sv-req").textContent, rejected: document.getElementById("sv-rej").textContent,
			models: [...document.querySelectorAll("#models tbody tr")].map(tr => [...tr.cells].map(td => td.textContent))})`, &shown)
		after := servicetest.Scrape(t, base+"/metrics")
		within := func(what, text string, lo, hi float64) {
			t.Helper()
			v, err := strconv.ParseFloat(text, 64)
			if err != nil || v < lo || v > hi {
				t.Errorf("page shows %s = %q; /metrics said %v before and %v after", what, text, lo, hi)
			}
		}
		within("requests", shown.Requests, before.Sum("streamscore_serve_requests_total"), after.Sum("streamscore_serve_requests_total"))
		rejected := `streamscore_serve_events_total{result="rejected"}`
		within("rejected events", shown.Rejected, before[rejected], after[rejected])
		if len(shown.Models) != 3 {
			t.Fatalf("models table rows = %q, want champion, canary and challenger", shown.Models)
		}
		for _, row := range shown.Models {
			// role, "linear vN", share, rows
			if len(row) != 4 || !strings.HasPrefix(row[1], "linear v") {
				t.Fatalf("models row %q does not name the model and version", row)
			}
			series := fmt.Sprintf(`streamscore_model_scored_rows_total{model="linear",role=%q,version=%q}`, row[0], strings.TrimPrefix(row[1], "linear v"))
			within(row[0]+" rows", row[3], before[series], after[series])
		}
		if before.Sum("streamscore_serve_requests_total") < after.Sum("streamscore_serve_requests_total") {
			matched++
		}
		time.Sleep(300 * time.Millisecond)
	}
	if matched == 0 {
		t.Errorf("the request count never moved during the checks: nothing was scored")
	}

	var page struct {
		Cmd, Ready string
		Hidden     []string
	}
	br.eval(t, `({cmd: document.getElementById("cmd").textContent, ready: document.getElementById("ready").textContent,
		hidden: [...document.querySelectorAll("section.empty")].map(s => s.id)})`, &page)
	if !strings.HasPrefix(page.Cmd, "serve") || page.Ready != "ready" {
		t.Errorf("header shows %q, %q; want serve, ready", page.Cmd, page.Ready)
	}
	for _, id := range []string{"s-throughput", "s-latency", "s-batches", "s-dead", "s-lag", "s-drift", "s-features"} {
		if !strings.Contains(fmt.Sprint(page.Hidden), id) {
			t.Errorf("section %s is shown for serve (hidden: %v)", id, page.Hidden)
		}
	}
	br.screenshot(t, filepath.Join(testOutput(t, "console"), "serve-1280.png"), 1280, 0)
	br.screenshot(t, filepath.Join(testOutput(t, "console"), "serve-390.png"), 390, 0)
	var overflow int
	br.eval(t, "document.documentElement.scrollWidth - window.innerWidth", &overflow)
	if overflow > 0 {
		t.Errorf("at 390 px the page is %d px wider than the window", overflow)
	}

	var st struct {
		Command string `json:"command"`
		Ready   struct {
			OK bool `json:"ok"`
		} `json:"ready"`
		Serve *struct {
			Requests float64 `json:"requests"`
		} `json:"serve"`
	}
	getJSON(t.Context(), t, base+"/api/status", &st)
	if st.Command != "serve" || !st.Ready.OK || st.Serve == nil || st.Serve.Requests == 0 {
		t.Errorf("/api/status = %+v", st)
	}
	for _, e := range br.errors() {
		t.Errorf("the page reported: %s", e)
	}
	cancel()
	wg.Wait()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve did not exit 0 after SIGTERM: %v", err)
	}
}
