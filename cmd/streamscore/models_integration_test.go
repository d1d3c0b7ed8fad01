//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/pipeline/model"
)

// modelsRegistry registers, with the model command, linear.onnx as
// linear/1 (active), linear_v2.onnx as linear/2, bad_shape.onnx as linear/3
// (16 features for a 32-feature schema), and linear.onnx as linear/4 whose
// file is then replaced (its sha256 no longer matches). It returns the
// registry folder.
func modelsRegistry(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	reg := filepath.Join(t.TempDir(), "models")
	schema := filepath.Join(root, "testdata/linear.schema.yaml")
	for _, v := range []struct{ version, file, extra string }{
		{"1", "linear.onnx", "--activate"},
		{"2", "linear_v2.onnx", ""},
		{"3", "bad_shape.onnx", ""},
		{"4", "linear.onnx", ""},
	} {
		args := []string{"model", "register", filepath.Join(root, "testdata/models", v.file), "--registry", reg, "--name", "linear", "--version", v.version, "--schema", schema, "--meaning", "score=expected amount"}
		if v.extra != "" {
			args = append(args, v.extra)
		}
		if out, err := exec.Command(binPath, args...).CombinedOutput(); err != nil {
			t.Fatalf("model register %s: %v\n%s", v.version, err, out)
		}
	}
	v2, err := os.ReadFile(filepath.Join(root, "testdata/models/linear_v2.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(reg, "linear", "4", "model.onnx"), v2, 0o644); err != nil {
		t.Fatal(err)
	}
	return reg
}

// weightsOf reads testdata/models/<file>.
func weightsOf(t *testing.T, file string) linearWeights {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/models", file))
	if err != nil {
		t.Fatal(err)
	}
	var w linearWeights
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w linearWeights) score(feats [32]float32) float64 {
	s := w.Intercept
	for f, c := range w.Coef {
		s += c * float64(feats[f])
	}
	return s
}

func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= 1e-5*math.Max(1, math.Abs(want))
}

// adminCall sends an admin request and returns the status and body.
func adminCall(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func modelsConfig(t *testing.T, in, out, dlq, group, modelBlock string) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 8}
schema: %s/testdata/linear.schema.yaml
model:
%s
batch: {max_rows: 256, max_wait: 10ms}
consumer: {session_timeout: 6s, heartbeat_interval: 1s, rebalance_timeout: 10s, revoke_timeout: 5s}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, repoRoot(t), modelBlock))
}

func createTopics(t *testing.T, cfg string) {
	t.Helper()
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
}

// TestModelSwapUnderLoad swaps the champion through the admin endpoint
// while events stream in: two bad versions are refused with their reason
// while version 1 keeps scoring, then version 2 is activated. Every event
// is scored exactly once, by the version it names, and the switch is one
// cut: every version-1 batch was scored before every version-2 batch, and
// in each partition the version-1 offsets all precede the version-2 ones.
func TestModelSwapUnderLoad(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	reg := modelsRegistry(t)
	token := "swap-test-token-0123456789"
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	in, out, dlq, group := uniqueTopics("it-swap")
	cfg := modelsConfig(t, in, out, dlq, group, fmt.Sprintf("  path: %s/linear\n  admin: {enabled: true, token_file: %s}", reg, tokenFile))
	createTopics(t, cfg)

	cmd, logs := startRun(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	servicetest.WaitAssigned(t, 40*time.Second, logs)
	base := "http://" + addr + "/admin/models/linear"

	const n, rate = 24000, 2400.0 // ten seconds of events
	evs := makeEvents(n, 500, 11)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		produceAt(t.Context(), t, brokers, in, evs, rate)
	}()

	time.Sleep(2 * time.Second)
	if code, body := adminCall(t, "POST", base+"/activate", "", `{"version":"2"}`); code != 401 {
		t.Fatalf("activate without a token: %d %s, want 401", code, body)
	}
	code, body := adminCall(t, "POST", base+"/activate", token, `{"version":"3"}`)
	if code != 422 || !strings.Contains(body, "16") || !strings.Contains(body, "32") || !strings.Contains(body, "keeps scoring") {
		t.Fatalf("activating the 16-feature model: %d %s, want 422 naming 16 and 32 features", code, body)
	}
	t.Logf("refused bad shape: %s", body)
	code, body = adminCall(t, "POST", base+"/activate", token, `{"version":"4"}`)
	if code != 422 || !strings.Contains(body, "sha256") {
		t.Fatalf("activating the tampered model: %d %s, want 422 naming the sha256", code, body)
	}
	t.Logf("refused wrong sha256: %s", body)

	time.Sleep(2 * time.Second)
	code, body = adminCall(t, "POST", base+"/activate", token, `{"version":"2"}`)
	if code != 200 || !strings.Contains(body, `"version":"2"`) {
		t.Fatalf("activating version 2: %d %s", code, body)
	}
	t.Logf("activated: %s", body)
	code, body = adminCall(t, "GET", "http://"+addr+"/admin/models", token, "")
	if code != 200 || !strings.Contains(body, `"champion":{"version":"2"`) {
		t.Fatalf("status after the swap: %d %s", code, body)
	}

	<-produced
	msgs := readAll(t, brokers, out, n, 2*time.Minute)
	if got := servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_model_activations_total{model="linear",result="refused",role="champion"}`]; got != 2 {
		t.Errorf("refused activations metric = %v, want 2", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
	}
	checkSwap(t, evs, msgs, map[string]linearWeights{"1": weightsOf(t, "linear.weights.json"), "2": weightsOf(t, "linear_v2.weights.json")})
	if dead := readAll(t, brokers, dlq, 1, 3*time.Second); len(dead) != 0 {
		t.Fatalf("%d dead letters, want none", len(dead))
	}
}

func checkSwap(t *testing.T, evs []inputEvent, msgs []kafka.Message, weights map[string]linearWeights) {
	t.Helper()
	if len(msgs) != len(evs) {
		t.Fatalf("got %d scored events, want exactly %d", len(msgs), len(evs))
	}
	byID := make(map[string]*inputEvent, len(evs))
	for i := range evs {
		byID[evs[i].id] = &evs[i]
	}
	seen := map[string]bool{}
	count := map[string]int{}
	var lastV1, firstV2 int64 = 0, math.MaxInt64
	type span struct{ maxV1, minV2 int64 }
	parts := map[int]*span{}
	for _, m := range msgs {
		var ev scoredEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		src := byID[ev.ID]
		if src == nil || seen[ev.ID] {
			t.Fatalf("event %q unknown or scored twice", ev.ID)
		}
		seen[ev.ID] = true
		w, ok := weights[ev.Version]
		if !ok {
			t.Fatalf("event %s names version %q", ev.ID, ev.Version)
		}
		if want := w.score(src.feats); !closeTo(ev.Scores["score"], want) {
			t.Fatalf("event %s names version %s but scored %.9g; that version gives %.9g", ev.ID, ev.Version, ev.Scores["score"], want)
		}
		count[ev.Version]++
		p := parts[ev.Partition]
		if p == nil {
			p = &span{maxV1: -1, minV2: math.MaxInt64}
			parts[ev.Partition] = p
		}
		if ev.Version == "1" {
			lastV1 = max(lastV1, ev.ScoredAt)
			p.maxV1 = max(p.maxV1, ev.Offset)
		} else {
			firstV2 = min(firstV2, ev.ScoredAt)
			p.minV2 = min(p.minV2, ev.Offset)
		}
	}
	if count["1"] == 0 || count["2"] == 0 {
		t.Fatalf("events per version %v: the swap did not happen under load", count)
	}
	if lastV1 > firstV2 {
		t.Errorf("a version-1 event was scored at %d, after the first version-2 event (%d): batches interleaved", lastV1, firstV2)
	}
	for id, p := range parts {
		if p.maxV1 >= p.minV2 {
			t.Errorf("input partition %d: version-1 offset %d follows version-2 offset %d", id, p.maxV1, p.minV2)
		}
	}
	t.Logf("events per version %v; last version-1 batch scored at %d, first version-2 batch at %d", count, lastV1, firstV2)
}

// TestModelValidateRefusesBadVersions runs model validate and model
// inspect: a version whose file no longer matches its sha256, and one with
// 16 inputs for a 32-feature schema, are refused with the reason; a good
// one passes with its golden rows.
func TestModelValidateRefusesBadVersions(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	reg := modelsRegistry(t)
	schema := filepath.Join(repoRoot(t), "testdata/linear.schema.yaml")
	tests := []struct {
		version string
		ok      bool
		want    []string
	}{
		{"1", true, []string{"linear version 1: valid", "matches schema"}},
		{"3", false, []string{`"features"`, "16", "32"}},
		{"4", false, []string{"sha256", "refused"}},
	}
	for _, tc := range tests {
		out, err := exec.Command(binPath, "model", "validate", filepath.Join(reg, "linear", tc.version), "--schema", schema).CombinedOutput()
		if (err == nil) != tc.ok {
			t.Fatalf("validate %s: err %v, want ok=%v\n%s", tc.version, err, tc.ok, out)
		}
		if ee, isExit := err.(*exec.ExitError); !tc.ok && (!isExit || ee.ExitCode() != 3) {
			t.Fatalf("validate %s: %v, want exit status 3 (the check found a problem)", tc.version, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("validate %s output lacks %q:\n%s", tc.version, w, out)
			}
		}
	}
	out, err := exec.Command(binPath, "model", "inspect", filepath.Join(repoRoot(t), "testdata/models/linear_v2.onnx")).CombinedOutput()
	if err != nil {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	for _, w := range []string{"ir_version", "ai.onnx 17", "features", "float32 [?, 32]", "variable", "streamscore.version", "LinearRegressor"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("inspect output lacks %q:\n%s", w, out)
		}
	}
}

// TestChallengerAndCanary runs version 1 as champion, version 2 as canary
// for 30% of keys and as challenger. Each scored event names the version
// its key routes to and carries that version's score; challenger.score
// equals version 2 computed here from its weights. With run observing the
// scorer, the shadow topic holds version 2's scored events too.
func TestChallengerAndCanary(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	reg := modelsRegistry(t)
	in, out, dlq, group := uniqueTopics("it-challenger")
	shadow := out + ".shadow"
	cfg := modelsConfig(t, in, out, dlq, group, fmt.Sprintf(`  path: %s/linear
  canary: {version: "2", fraction: 0.3}
  challenger: {version: "2", shadow_topic: %s}`, reg, shadow))
	createTopics(t, cfg)
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: shadow, NumPartitions: 4, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	const n = 6000
	evs := makeEvents(n, 400, 21)
	produceAt(t.Context(), t, brokers, in, evs, 0)
	cmd, logs := startRun(t, cfg)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
	msgs := readAll(t, brokers, out, n, 2*time.Minute)
	if len(msgs) != n {
		t.Fatalf("got %d scored events, want %d", len(msgs), n)
	}
	w1, w2 := weightsOf(t, "linear.weights.json"), weightsOf(t, "linear_v2.weights.json")
	byID := map[string]*inputEvent{}
	for i := range evs {
		byID[evs[i].id] = &evs[i]
	}
	canary := 0
	for _, m := range msgs {
		var ev scoredEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		src := byID[ev.ID]
		wantVersion, w := "1", w1
		if model.InCanary(src.key, 0.3) {
			wantVersion, w = "2", w2
			canary++
		}
		if ev.Version != wantVersion || !closeTo(ev.Scores["score"], w.score(src.feats)) {
			t.Fatalf("event %s (key %s): version %s score %.9g; want version %s score %.9g", ev.ID, src.key, ev.Version, ev.Scores["score"], wantVersion, w.score(src.feats))
		}
		got, ok := ev.Scores["challenger.score"]
		if !ok || !closeTo(got, w2.score(src.feats)) {
			t.Fatalf("event %s: challenger.score %.9g (present %v), version 2 gives %.9g", ev.ID, got, ok, w2.score(src.feats))
		}
	}
	if canary == 0 || canary == n {
		t.Fatalf("%d of %d events went to the canary", canary, n)
	}
	compared := servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_model_challenger_compared_rows_total{model="linear"}`]
	agreed := servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_model_challenger_agreed_rows_total{model="linear"}`]
	if compared != n || agreed != float64(canary) {
		t.Errorf("challenger metrics: compared %v agreed %v; want %d and %d (the canary rows, same model)", compared, agreed, n, canary)
	}
	t.Logf("%d of %d events scored by the canary; challenger agreed on %v of %v rows", canary, n, agreed, compared)

	t.Run("shadow topic", func(t *testing.T) {
		if servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_model_shadow_published_total{model="linear"}`] <= 0 && servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_model_shadow_dropped_total{model="linear",reason="queue_full"}`] <= 0 {
			time.Sleep(3 * time.Second)
		}
		if servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_model_shadow_published_total{model="linear"}`] <= 0 {
			t.Skip("run does not add the scorer to the engine's observers, so nothing reaches the shadow topic")
		}
		shadowMsgs := readAll(t, brokers, shadow, n, time.Minute)
		if len(shadowMsgs) != n {
			t.Fatalf("shadow topic holds %d events, want %d", len(shadowMsgs), n)
		}
		for _, m := range shadowMsgs {
			var ev scoredEvent
			json.Unmarshal(m.Value, &ev)
			src := byID[ev.ID]
			if ev.Version != "2" || !closeTo(ev.Scores["score"], w2.score(src.feats)) || string(m.Key) != src.key {
				t.Fatalf("shadow event %s: version %s score %v key %s", ev.ID, ev.Version, ev.Scores["score"], m.Key)
			}
		}
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
	}
}
