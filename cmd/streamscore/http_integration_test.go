//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// startServe starts `streamscore serve` with cfg; its logs go to the test
// log on failure.
func startServe(t *testing.T, cfg string) (*exec.Cmd, *servicetest.Logs) {
	t.Helper()
	cmd := exec.Command(binPath, "serve", "--config", cfg)
	logs := &servicetest.Logs{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("streamscore serve logs:\n%s", servicetest.Tail(logs.String(), 4000))
		}
	})
	return cmd, logs
}

func serveConfig(t *testing.T, modelBlock string) string {
	return writeConfig(t, fmt.Sprintf(`
schema: %s/testdata/linear.schema.yaml
model:
%s
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, repoRoot(t), modelBlock))
}

// TestHTTPScoringSharesBatches sends 64 clients × 1,000 single-event
// requests to serve: every answer is the event's own scored event with the
// score computed here from the weights, and /metrics shows that requests
// shared batches (mean batch size above one).
func TestHTTPScoringSharesBatches(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	cfg := serveConfig(t, fmt.Sprintf("  path: %s/testdata/models/linear.onnx\n  sessions: 2\n  serve: {max_rows: 256, max_wait: 1ms}", repoRoot(t)))
	cmd, logs := startServe(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	url := "http://" + addr + "/v1/score"

	const clients, requests = 64, 1000
	evs := makeEvents(clients*requests, 1000, 5)
	w := weightsOf(t, "linear.weights.json")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for r := range requests {
				src := &evs[c*requests+r]
				resp, err := client.Post(url, "application/json", bytes.NewReader(src.value))
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("event %s: status %d %s (%v)", src.id, resp.StatusCode, body, err)
					return
				}
				var ev scoredEvent
				if err := json.Unmarshal(body, &ev); err != nil {
					errs <- fmt.Errorf("event %s: %v: %s", src.id, err, body)
					return
				}
				if ev.ID != src.id || ev.Key != src.key || ev.Topic != "http" || ev.Partition != -1 || ev.Model != "linear" || !closeTo(ev.Scores["score"], w.score(src.feats)) {
					errs <- fmt.Errorf("event %s answered with %s", src.id, body)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := float64(clients * requests)
	m := servicetest.Scrape(t, "http://"+addr+"/metrics")
	ok := m[`streamscore_serve_requests_total{code="200"}`]
	rows := m["streamscore_serve_batch_rows_sum"]
	batches := m["streamscore_serve_batch_rows_count"]
	if ok != total || rows != total {
		t.Fatalf("metrics: %v requests answered 200, %v rows batched; want %v", ok, rows, total)
	}
	mean := rows / batches
	if mean <= 1 {
		t.Fatalf("mean batch size %.2f (%v batches): requests did not share batches", mean, batches)
	}
	t.Logf("%d clients × %d requests: %.0f requests/s, %v batches, mean batch %.1f events", clients, requests, total/elapsed.Seconds(), batches, mean)

	// A list in one request, with one bad event.
	list := fmt.Sprintf(`[%s, {"event_id":"bad","user_id":"u"}, %s]`, evs[0].value, evs[1].value)
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(list))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 || len(out) != 3 || out[0]["event_id"] != evs[0].id || out[1]["error"] == nil || out[2]["event_id"] != evs[1].id {
		t.Fatalf("list request: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit 0 after SIGTERM: %v", err)
	}
}

// TestAdminEndpointsNeedToken checks the admin endpoints are absent unless
// enabled, and refuse calls without the right bearer token.
func TestAdminEndpointsNeedToken(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	reg := modelsRegistry(t)

	_, logs := startServe(t, serveConfig(t, fmt.Sprintf("  path: %s/linear", reg)))
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	if code, body := adminCall(t, "GET", "http://"+addr+"/admin/models", "", ""); code != 404 {
		t.Errorf("admin off by default: GET /admin/models = %d %s, want 404", code, body)
	}

	token := "admin-test-token-abcdefghijkl"
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	_, logs = startServe(t, serveConfig(t, fmt.Sprintf("  path: %s/linear\n  admin: {enabled: true, token_file: %s}", reg, tokenFile)))
	addr = servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	for _, tok := range []string{"", "wrong-token-wrong-token", token + "x"} {
		if code, body := adminCall(t, "GET", "http://"+addr+"/admin/models", tok, ""); code != 401 {
			t.Errorf("token %q: %d %s, want 401", tok, code, body)
		}
	}
	code, body := adminCall(t, "GET", "http://"+addr+"/admin/models", token, "")
	if code != 200 || !bytes.Contains([]byte(body), []byte(`"versions":["1","2","3","4"]`)) {
		t.Errorf("status: %d %s", code, body)
	}
	if code, body := adminCall(t, "POST", "http://"+addr+"/admin/models/other/activate", token, `{"version":"2"}`); code != 404 {
		t.Errorf("activating another model: %d %s, want 404", code, body)
	}
	code, body = adminCall(t, "POST", "http://"+addr+"/admin/models/linear/activate", token, `{"version":"2","role":"canary","fraction":0.5}`)
	if code != 200 {
		t.Errorf("canary activation: %d %s", code, body)
	}
	if code, body := adminCall(t, "POST", "http://"+addr+"/admin/models/linear/deactivate", token, `{"role":"canary"}`); code != 200 {
		t.Errorf("canary removal: %d %s", code, body)
	}
}
