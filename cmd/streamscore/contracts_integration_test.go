//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

// TestContractsHoldForARealRun scores a stream holding bad events of many
// kinds with online features, replays it with a label, and checks every
// record it produced (each scored event, each dead letter, each replay
// row) against schemas/contracts with a third-party validator, Python's
// jsonschema, pinned in schemas/contracts/requirements.txt.
func TestContractsHoldForARealRun(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, servicetest.ONNXRuntimeEnv)
	// A private Redis: the shared one may hold user_stats rows for every
	// user from other tests (the README's run loads them), and this test
	// needs users without features.
	rds := servicetest.StartRedis(t, servicetest.RedisOptions{})
	t.Setenv("STREAMSCORE_REDIS", rds.Addr)
	root := repoRoot(t)
	contracts := filepath.Join(root, "schemas", "contracts")
	py := servicetest.PythonVenv(t, "contracts", filepath.Join(contracts, "requirements.txt"))
	dir := t.TempDir()
	streamscore := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(binPath, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("streamscore %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// Events: gen's (with its malformed share), one too large for the
	// schema's limits and one with a duplicated feature.
	events := filepath.Join(dir, "events.jsonl")
	streamscore("gen", "--n", "3000", "--bad-ratio", "0.05", "--seed", "16", "--out", events)
	lines := readTextLines(t, events)
	var good string
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["f00"] != nil {
			good = l
			break
		}
	}
	lines = append(lines,
		`{"merchant":"`+strings.Repeat("x", 70000)+`",`+good[1:],
		`{"f00":1,`+good[1:])
	writeTextLines(t, events, lines)

	// Features for half of gen's users, so events are scored both with
	// and without them.
	feats := make([]string, 0, 500)
	for i := range 500 {
		feats = append(feats, fmt.Sprintf(`{"user_id":"u-%d","f28":0.5,"f29":-1,"f30":2,"f31":0.25}`, i))
	}
	featFile := filepath.Join(dir, "user_stats.jsonl")
	writeTextLines(t, featFile, feats)
	fsSchema := filepath.Join(root, "testdata/features/linear_fs.schema.yaml")
	streamscore("features", "load", "--schema", fsSchema, "--set", "user_stats", "--file", featFile, "-q")

	in, out, dlq, group := uniqueTopics("it-contracts")
	cfg := writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 4}
schema: %s
model: {path: %s/testdata/models/linear.onnx}
redis: {addrs: ["${STREAMSCORE_REDIS}"]}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, fsSchema, root))
	streamscore("topics", "create", "--config", cfg)
	streamscore("produce", "--topic", in, "--file", events, "--key", "user_id", "-q")
	cmd, logs := startRun(t, cfg)

	// Every input ends as a scored event or a dead letter.
	var scored, letters []schemas.Message
	deadline := time.Now().Add(3 * time.Minute)
	for {
		scored = readTopicNow(t, brokers, out)
		letters = readTopicNow(t, brokers, dlq)
		if len(scored)+len(letters) >= len(lines) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes %d scored and %d dead letters of %d events\n%s", len(scored), len(letters), len(lines), servicetest.Tail(logs.String(), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
	}
	// The log holds the first few dead letters in full and summaries by
	// reason, not a line per letter; its durations are text.
	runLog := logs.String()
	full, summarised := 0, 0
	for _, line := range strings.Split(runLog, "\n") {
		var rec struct {
			Msg      string         `json:"msg"`
			Count    int            `json:"count"`
			Interval any            `json:"interval"`
			ByReason map[string]int `json:"by_reason"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch rec.Msg {
		case "dead letter":
			full++
		case "dead letters since the last summary":
			summarised += rec.Count
			if _, ok := rec.Interval.(string); !ok || len(rec.ByReason) == 0 {
				t.Errorf("summary line without reasons or with a numeric interval: %s", line)
			}
		}
	}
	if full != 5 || full+summarised < len(letters)-1 {
		// (A dead letter made by the broker refusing a scored event is not
		// the engine's; none is expected here, one is tolerated.)
		t.Errorf("log has %d dead letters in full and %d in summaries for %d letters; want 5 in full and the rest summarised", full, summarised, len(letters))
	}
	if strings.Contains(runLog, `"deadline":30`) || strings.Contains(runLog, "\r") {
		t.Errorf("run's log has a duration in nanoseconds or a carriage return")
	}

	// A replay of the same events with a label on most of them.
	labelled := make([]string, 0, len(lines))
	for i, l := range lines {
		var m map[string]any
		if i%10 != 0 && json.Unmarshal([]byte(l), &m) == nil {
			if f, ok := m["f00"].(float64); ok {
				m["is_fraud"] = map[bool]int{true: 1, false: 0}[f > 1]
				b, _ := json.Marshal(m)
				l = string(b)
			}
		}
		labelled = append(labelled, l)
	}
	history := filepath.Join(dir, "history.jsonl")
	writeTextLines(t, history, labelled)
	replayOut := filepath.Join(dir, "replay.jsonl")
	streamscore("replay", "--schema", filepath.Join(root, "testdata/mlp_score.schema.yaml"), "--in", history,
		"--model", "champion="+filepath.Join(root, "testdata/replay/champion.onnx"),
		"--model", "challenger="+filepath.Join(root, "testdata/replay/challenger.onnx"),
		"--label", "is_fraud", "-q", "--out", replayOut)

	// What the records must show for the test to mean something.
	reasons := map[string]int{}
	var letterLines []string
	for _, m := range letters {
		l := consumers.LetterOf(m)
		reasons[l.Reason()]++
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		letterLines = append(letterLines, string(b))
	}
	for _, r := range []schemas.Reason{schemas.ReasonInvalidJSON, schemas.ReasonMissingField, schemas.ReasonTypeMismatch, schemas.ReasonTooLarge, schemas.ReasonDuplicateField} {
		if reasons[string(r)] == 0 {
			t.Errorf("no %s dead letter among %v", r, reasons)
		}
	}
	var scoredLines []string
	missing := 0
	for _, m := range scored {
		if bytes.Contains(m.Value, []byte(`"features_missing":true`)) {
			missing++
		}
		scoredLines = append(scoredLines, string(m.Value))
	}
	if missing == 0 || missing == len(scored) {
		t.Errorf("%d of %d scored events have features_missing; want some with and some without", missing, len(scored))
	}
	replayLines := readTextLines(t, replayOut)
	if !strings.Contains(strings.Join(replayLines, "\n"), `"label":null`) {
		t.Errorf("no replay row without a label")
	}

	// dlq stats and topics describe count what the topics hold; dlq
	// inspect --json prints letters in the contract's shape.
	var stats consumers.LetterStats
	if err := json.Unmarshal([]byte(streamscore("dlq", "stats", "--dlq-topic", dlq, "--json")), &stats); err != nil {
		t.Fatalf("dlq stats --json: %v", err)
	}
	if stats.Kept != len(letters) || len(stats.ByReason) != len(reasons) || stats.ByReason[0].Count != reasons[stats.ByReason[0].Reason] {
		t.Errorf("dlq stats: %d letters by reason %v; read %d by reason %v", stats.Kept, stats.ByReason, len(letters), reasons)
	}
	var topics []consumers.TopicInfo
	if err := json.Unmarshal([]byte(streamscore("topics", "describe", in, out, "--json")), &topics); err != nil {
		t.Fatalf("topics describe --json: %v", err)
	}
	if len(topics) != 2 || topics[0].Records != int64(len(lines)) || topics[1].Records != int64(len(scored)) || len(topics[0].Partitions) != 4 || topics[0].ConfigError != "" {
		t.Errorf("topics describe: %+v; want %s with %d records in 4 partitions, %s with %d, and their config", topics, in, len(lines), out, len(scored))
	}
	inspected := filepath.Join(dir, "inspected.jsonl")
	if err := os.WriteFile(inspected, []byte(streamscore("dlq", "inspect", "--dlq-topic", dlq, "--samples", "5", "--json")), 0o644); err != nil {
		t.Fatal(err)
	}
	consumed := filepath.Join(dir, "consumed.jsonl")
	if err := os.WriteFile(consumed, []byte(streamscore("consume", "--topic", dlq, "--from-beginning", "--max", strconv.Itoa(len(letters)), "--headers")), 0o644); err != nil {
		t.Fatal(err)
	}

	scoredFile, lettersFile := filepath.Join(dir, "scored.jsonl"), filepath.Join(dir, "dead-letters.jsonl")
	writeTextLines(t, scoredFile, scoredLines)
	writeTextLines(t, lettersFile, letterLines)
	check := exec.Command(py, filepath.Join(contracts, "validate.py"),
		filepath.Join(contracts, "scored-event.v1.json"), scoredFile,
		filepath.Join(contracts, "dead-letter.v1.json"), lettersFile,
		filepath.Join(contracts, "dead-letter.v1.json"), inspected,
		filepath.Join(contracts, "dead-letter.v1.json"), consumed,
		filepath.Join(contracts, "replay-out.v1.json"), replayOut)
	res, err := check.CombinedOutput()
	if err != nil {
		t.Fatalf("records break their contracts: %v\n%s", err, res)
	}
	t.Logf("%d scored events (%d with features_missing), %d dead letters %v, %d replay rows:\n%s", len(scored), missing, len(letters), reasons, len(replayLines), res)
}

// readTopicNow returns every record a topic holds now.
func readTopicNow(t *testing.T, brokers []string, topic string) []schemas.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out []schemas.Message
	if _, err := consumers.Tail(ctx, consumers.TailConfig{Brokers: brokers, Topic: topic, FromBeginning: true, UntilEnd: true, Idle: 30 * time.Second},
		func(m schemas.Message) error { out = append(out, m); return nil }); err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	return out
}

func readTextLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTextLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
