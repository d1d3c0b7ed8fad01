//go:build integration

package main

import (
	"bufio"
	"bytes"
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

	"github.com/streamscore/streamscore/schemas"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// typedFixtures are testdata/models/typed's models (make_models.py
// --typed): scikit-learn DataFrame pipeline with string inputs and ZipMap,
// random forests with and without ZipMap (string labels), LightGBM and
// XGBoost classifiers and regressors, an embedding-input model and, where
// torch was installed, a PyTorch two-input model.
var typedFixtures = []string{"df_pipeline", "rf_zipmap", "rf_nozipmap", "lgbm_clf", "lgbm_reg", "xgb_clf", "xgb_reg", "embedding", "torch_two_input"}

// typedTolerance: every fixture's inputs are float32, integers or strings,
// so streamscore and Python onnxruntime compute the same float32 values.
const typedTolerance = 1e-6

// typedBad are events each fixture's schema refuses, with the reason.
var typedBad = map[string][]struct {
	value  string
	reason schemas.Reason
}{
	"df_pipeline": {
		{`{"id":"bad-1","amount":1.5,"n_items":2,"country":44,"device":"ios"}`, schemas.ReasonTypeMismatch},
		{`{"id":"bad-2","amount":1.5,"n_items":2,"country":"` + strings.Repeat("X", 17) + `","device":"ios"}`, schemas.ReasonTooLarge},
		{`{"id":"bad-3","amount":1.5,"n_items":2.5,"country":"US","device":"ios"}`, schemas.ReasonTypeMismatch},
	},
	"embedding": {
		{`{"id":"bad-1","emb":[1,2,3]}`, schemas.ReasonTypeMismatch},
		{`{"id":"bad-2","emb":"yes"}`, schemas.ReasonTypeMismatch},
	},
}

type typedExpected struct {
	IDs     []string                     `json:"ids"`
	Outputs map[string][]json.RawMessage `json:"outputs"`
}

// TestTypedModelsOnTheBroker produces the fixture events (and a few bad
// ones), scores them with `streamscore run` for every typed fixture, reads
// the scored events back and compares every score with Python
// onnxruntime's: each event scored exactly once, each bad event a dead
// letter with its reason.
func TestTypedModelsOnTheBroker(t *testing.T) {
	brokers := strings.Split(servicetest.Env(t, "STREAMSCORE_BROKERS"), ",")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	root := repoRoot(t)
	dir := filepath.Join(root, "testdata", "models", "typed")
	events := readLines(t, filepath.Join(dir, "events.jsonl"))
	// Start every fixture's scorer first, so their group joins overlap,
	// then check them one by one.
	type started struct {
		name, out, dlq string
		spec           *schemas.Spec
		want           typedExpected
		cmd            *exec.Cmd
	}
	var runs []started
	for _, name := range typedFixtures {
		model := filepath.Join(dir, name+".onnx")
		if _, err := os.Stat(model); err != nil {
			t.Logf("%s: fixture not built (its framework was not installed): %v", name, err)
			continue
		}
		r := started{name: name}
		readJSON(t, filepath.Join(dir, name+".expected.json"), &r.want)
		spec, err := schemas.Load(filepath.Join(dir, name+".schema.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		r.spec = spec
		in, out, dlq, group := uniqueTopics("it-typed-" + name)
		r.out, r.dlq = out, dlq
		cfg := writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 2}
schema: %s
model: {path: %s, name: %s, version: "1"}
batch: {max_rows: 64, max_wait: 10ms}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, filepath.Join(dir, name+".schema.yaml"), model, name))
		createTopics(t, cfg)
		var evs []inputEvent
		for i, v := range events {
			evs = append(evs, inputEvent{id: r.want.IDs[i], key: r.want.IDs[i], value: v})
		}
		for _, b := range typedBad[name] {
			evs = append(evs, inputEvent{key: "bad", value: []byte(b.value)})
		}
		produce(t, brokers, in, evs)
		r.cmd, _ = startRun(t, cfg)
		runs = append(runs, r)
	}
	for _, r := range runs {
		name, spec, want, cmd, out, dlq := r.name, r.spec, r.want, r.cmd, r.out, r.dlq
		t.Run(name, func(t *testing.T) {
			bad := typedBad[name]
			msgs := readAll(t, brokers, out, len(events), 90*time.Second)
			wait := 20 * time.Second
			if len(bad) == 0 {
				wait = time.Second // expecting none: a short look for strays
			}
			dead := readAll(t, brokers, dlq, len(bad), wait)
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
			}

			if len(msgs) != len(events) {
				t.Fatalf("got %d scored events, want exactly %d", len(msgs), len(events))
			}
			row := map[string]int{}
			for i, id := range want.IDs {
				row[id] = i
			}
			seen := map[string]bool{}
			bads := 0
			for _, m := range msgs {
				var ev struct {
					ID     string                     `json:"event_id"`
					Scores map[string]json.RawMessage `json:"scores"`
				}
				if err := json.Unmarshal(m.Value, &ev); err != nil {
					t.Fatalf("scored event is not JSON: %v: %s", err, m.Value)
				}
				r, ok := row[ev.ID]
				if !ok || seen[ev.ID] {
					t.Fatalf("scored event for unknown or repeated id %q", ev.ID)
				}
				seen[ev.ID] = true
				for _, o := range spec.Model.Outputs {
					if err := sameJSONValue(ev.Scores[o.As], want.Outputs[o.Name][r]); err != nil {
						if bads++; bads <= 5 {
							t.Errorf("event %s, %s: %v", ev.ID, o.As, err)
						}
					}
				}
			}
			if len(dead) != len(bad) {
				t.Fatalf("got %d dead letters, want %d", len(dead), len(bad))
			}
			reasons := map[string]string{}
			for _, d := range dead {
				for _, h := range d.Headers {
					if h.Key == schemas.HeaderReason {
						reasons[string(d.Value)] = string(h.Value)
					}
				}
			}
			for _, b := range bad {
				if got := reasons[b.value]; got != string(b.reason) {
					t.Errorf("dead letter %s: reason %q, want %q", b.value, got, b.reason)
				}
			}
		})
	}
}

// sameJSONValue compares a scored event's value with Python's: numbers
// within typedTolerance, strings exactly, arrays and objects element-wise.
func sameJSONValue(got, want json.RawMessage) error {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("score %s: %w", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	return sameValue(g, w)
}

func sameValue(g, w any) error {
	switch w := w.(type) {
	case float64:
		if gf, ok := g.(float64); !ok || math.Abs(gf-w) > typedTolerance {
			return fmt.Errorf("got %v, want %v", g, w)
		}
	case string:
		if g != w {
			return fmt.Errorf("got %v, want %q", g, w)
		}
	case []any:
		ga, ok := g.([]any)
		if !ok || len(ga) != len(w) {
			return fmt.Errorf("got %v, want %v", g, w)
		}
		for i := range w {
			if err := sameValue(ga[i], w[i]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case map[string]any:
		gm, ok := g.(map[string]any)
		if !ok || len(gm) != len(w) {
			return fmt.Errorf("got %v, want %v", g, w)
		}
		for k, v := range w {
			if err := sameValue(gm[k], v); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
	default:
		return fmt.Errorf("unexpected value %v", w)
	}
	return nil
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestTypedModelsThroughServe posts every fixture event, as one array, to
// `streamscore serve` for the DataFrame pipeline (string inputs, ZipMap) and
// the PyTorch two-input model, and compares each answer with Python
// onnxruntime's.
func TestTypedModelsThroughServe(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	dir := filepath.Join(repoRoot(t), "testdata", "models", "typed")
	events := readLines(t, filepath.Join(dir, "events.jsonl"))
	body := append([]byte{'['}, bytes.Join(events, []byte{','})...)
	body = append(body, ']')
	for _, name := range []string{"df_pipeline", "torch_two_input"} {
		t.Run(name, func(t *testing.T) {
			model := filepath.Join(dir, name+".onnx")
			if _, err := os.Stat(model); err != nil {
				t.Skipf("fixture not built: %v", err)
			}
			var want typedExpected
			readJSON(t, filepath.Join(dir, name+".expected.json"), &want)
			spec, err := schemas.Load(filepath.Join(dir, name+".schema.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := writeConfig(t, fmt.Sprintf(`
schema: %s
model: {path: %s, name: %s, version: "1", serve: {max_rows: 256, max_wait: 1ms}}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, filepath.Join(dir, name+".schema.yaml"), model, name))
			cmd, logs := startServe(t, cfg)
			code, answer := postJSON(t, "http://"+servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)+"/v1/score", string(body))
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if code != 200 {
				t.Fatalf("status %d: %s", code, answer)
			}
			var got []struct {
				ID     string                     `json:"event_id"`
				Scores map[string]json.RawMessage `json:"scores"`
			}
			if err := json.Unmarshal(answer, &got); err != nil {
				t.Fatalf("answer is not an array of scored events: %v: %.300s", err, answer)
			}
			if len(got) != len(want.IDs) {
				t.Fatalf("got %d answers, want %d", len(got), len(want.IDs))
			}
			for r, ev := range got {
				if ev.ID != want.IDs[r] {
					t.Fatalf("answer %d is for %q, want %q", r, ev.ID, want.IDs[r])
				}
				for _, o := range spec.Model.Outputs {
					if err := sameJSONValue(ev.Scores[o.As], want.Outputs[o.Name][r]); err != nil {
						t.Errorf("event %s, %s: %v", ev.ID, o.As, err)
					}
				}
			}
		})
	}
}

// postJSON posts body and returns the status code and the answer.
func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestTypedModelsThroughReplay replays the fixture events from their file
// with the label field and checks replay's metrics against scikit-learn's
// on Python onnxruntime's scores: the DataFrame pipeline (ZipMap,
// probabilities[1]) as a classifier, the LightGBM regressor as a regressor.
func TestTypedModelsThroughReplay(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	dir := filepath.Join(repoRoot(t), "testdata", "models", "typed")
	for _, tc := range []struct{ name, score string }{
		{"df_pipeline", "probabilities[1]"},
		{"lgbm_reg", "score"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want struct {
				Metrics struct {
					Label  string             `json:"label"`
					Task   string             `json:"task"`
					Values map[string]float64 `json:"values"`
				} `json:"metrics"`
			}
			readJSON(t, filepath.Join(dir, tc.name+".expected.json"), &want)
			report := filepath.Join(t.TempDir(), "report.json")
			out, err := exec.Command(binPath, "replay", "--schema", filepath.Join(dir, tc.name+".schema.yaml"),
				"--in", filepath.Join(dir, "events.jsonl"), "--model", filepath.Join(dir, tc.name+".onnx"),
				"--label", want.Metrics.Label, "--task", want.Metrics.Task, "--score", tc.score, "--report", report).CombinedOutput()
			if err != nil {
				t.Fatalf("replay: %v\n%s", err, out)
			}
			var got struct {
				Scored int `json:"scored"`
				Models []struct {
					Classifier map[string]any `json:"classifier"`
					Regressor  map[string]any `json:"regressor"`
				} `json:"models"`
			}
			readJSON(t, report, &got)
			if got.Scored != 200 || len(got.Models) != 1 {
				t.Fatalf("scored %d rows with %d models, want 200 with 1:\n%s", got.Scored, len(got.Models), out)
			}
			m := got.Models[0].Classifier
			if want.Metrics.Task == "regressor" {
				m = got.Models[0].Regressor
			}
			for name, w := range want.Metrics.Values {
				if name == "accuracy" {
					continue // replay reports a confusion table, checked through the other metrics
				}
				g, ok := m[name].(float64)
				if !ok || math.Abs(g-w) > 1e-6 {
					t.Errorf("%s: replay says %v, scikit-learn %v", name, m[name], w)
				}
			}
		})
	}
}
