//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/servicetest"
)

// replayEvent is one history event with a known time and label.
type replayEvent struct {
	id    string
	user  string
	ts    time.Time
	feats [32]float32
	label int
}

// writeHistory writes n events one second apart from base, features kept
// away from 0 so a model's decision at sigmoid 0.5 is exact, and returns
// them.
func writeHistory(t *testing.T, path string, n int, base time.Time, seed uint64) []replayEvent {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 9))
	evs := make([]replayEvent, n)
	var b bytes.Buffer
	for i := range evs {
		e := &evs[i]
		e.id = fmt.Sprintf("h-%05d", i)
		e.user = fmt.Sprintf("user-%d", r.IntN(300))
		e.ts = base.Add(time.Duration(i) * time.Second)
		for f := range e.feats {
			v := float32(r.NormFloat64())
			if v > -0.05 && v < 0.05 {
				v = 0.25
			}
			e.feats[f] = v
		}
		if e.feats[0]+float32(r.NormFloat64()) > 0 {
			e.label = 1
		}
		fmt.Fprintf(&b, `{"event_id":%q,"user_id":%q,"ts":%q`, e.id, e.user, e.ts.UTC().Format(time.RFC3339Nano))
		for f, v := range e.feats {
			fmt.Fprintf(&b, `,"f%02d":%s`, f, strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		fmt.Fprintf(&b, `,"merchant":"m-%d","label":%d}`+"\n", i%9, e.label)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return evs
}

// streamscore runs the binary and returns stdout; it fails the test with
// the output if the command fails.
func streamscore(t *testing.T, args ...string) string {
	t.Helper()
	out, err := streamscoreErr(t, args...)
	if err != nil {
		t.Fatalf("streamscore %s: %v\n%s", strings.Join(args, " "), err, servicetest.Tail(out, 4000))
	}
	return out
}

func streamscoreErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = repoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

type replayRow struct {
	ID        string                        `json:"event_id"`
	Key       string                        `json:"key"`
	EventTime int64                         `json:"event_time"`
	Label     *float64                      `json:"label"`
	Source    string                        `json:"source"`
	Partition int                           `json:"partition"`
	Offset    int64                         `json:"offset"`
	Scores    map[string]map[string]float64 `json:"scores"`
}

func readReplayRows(t *testing.T, path string) ([]replayRow, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []replayRow
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r replayRow
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("output line is not JSON: %v: %s", err, line)
		}
		rows = append(rows, r)
	}
	return rows, b
}

func listGroups(t *testing.T, brokers []string) []string {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := client.ListGroups(t.Context(), &kafka.ListGroupsRequest{})
	if err != nil {
		t.Fatalf("listing groups: %v", err)
	}
	var ids []string
	for _, g := range res.Groups {
		ids = append(ids, g.GroupID)
	}
	slices.Sort(ids)
	return ids
}

// TestReplayTimeRangeOnBroker writes history with its own timestamps
// (produce --preserve-timestamps) over 4 partitions and replays a window of
// it: exactly the events in [from, to) are scored, from every partition, in
// one deterministic order, twice identically, without any consumer group.
func TestReplayTimeRangeOnBroker(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	root := repoRoot(t)
	dir := t.TempDir()
	topic := fmt.Sprintf("it-replay.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := consumers.CreateTopics(ctx, nil, brokers, 4, 1, topic); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const n = 3000
	hist := filepath.Join(dir, "history.jsonl")
	evs := writeHistory(t, hist, n, base, 1)
	// History older than the topic's retention.ms (7 days by default) is
	// deleted at the broker's next retention check (every 30 s here), and
	// once a newer record rolls its segment: produce says so, and the
	// history topic keeps records forever.
	produceHistory := func(topic, file string) string {
		t.Helper()
		b, err := exec.Command(binPath, "produce", "--brokers", brokers[0], "--topic", topic, "--file", file,
			"--key", "user_id", "--preserve-timestamps", "--time-field", "ts", "-q").CombinedOutput()
		if err != nil {
			t.Fatalf("produce: %v\n%s", err, b)
		}
		return string(b)
	}
	short := topic + ".week"
	if err := consumers.CreateTopics(ctx, nil, brokers, 1, 1, short); err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(dir, "head.jsonl")
	all, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(head, bytes.Join(bytes.SplitAfter(all, []byte("\n"))[:5], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if said := produceHistory(short, head); !strings.Contains(said, "warning: 5 events are older than "+short+"'s retention.ms (168h0m0s)") ||
		!strings.Contains(said, "streamscore topics set --brokers "+brokers[0]+" "+short+" retention.ms=-1") {
		t.Fatalf("produce of old history into a topic with the default retention does not warn:\n%s", said)
	}
	// The command the warning names; a malformed entry and one the broker
	// refuses are errors that say so.
	for _, bad := range [][]string{{"retention.ms"}, {"retention.ms=forever"}} {
		out, err := streamscoreErr(t, append([]string{"topics", "set", "--brokers", brokers[0], topic}, bad...)...)
		if err == nil || !strings.Contains(out, "retention.ms") {
			t.Fatalf("topics set %v: err %v, output %s; want an error naming the entry", bad, err, out)
		}
	}
	streamscore(t, "topics", "set", "--brokers", brokers[0], topic, "retention.ms=-1")
	var described []struct {
		Config map[string]string `json:"config"`
	}
	desc := streamscore(t, "topics", "describe", "--brokers", brokers[0], topic, "--json")
	if err := json.Unmarshal([]byte(desc), &described); err != nil || len(described) != 1 || described[0].Config["retention.ms"] != "-1" {
		t.Fatalf("topics describe after topics set lacks retention.ms -1 (%v):\n%s", err, desc)
	}
	if said := produceHistory(topic, hist); strings.Contains(said, "retention") {
		t.Fatalf("produce warns about retention on a topic that keeps records forever:\n%s", said)
	}

	groupsBefore := listGroups(t, brokers)
	from := base.Add(1000 * time.Second)
	to := base.Add(2000 * time.Second)
	args := func(out string) []string {
		return []string{"replay", "--brokers", brokers[0], "--schema", filepath.Join(root, "testdata/linear.schema.yaml"),
			"--model", "linear=" + filepath.Join(root, "testdata/models/linear.onnx"), "--topic", topic,
			"--from", from.Format(time.RFC3339), "--to", strconv.FormatInt(to.UnixMilli(), 10),
			"--label", "label", "--task", "regressor", "-q", "--out", out}
	}
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	report := streamscore(t, append(args(a), "--report", filepath.Join(dir, "a.json"))...)
	streamscore(t, args(b)...)

	rows, abytes := readReplayRows(t, a)
	var want, got []string
	for _, e := range evs {
		if !e.ts.Before(from) && e.ts.Before(to) {
			want = append(want, e.id)
		}
	}
	parts := map[int]int{}
	for i, r := range rows {
		got = append(got, r.ID)
		parts[r.Partition]++
		if r.Source != topic {
			t.Fatalf("row %s from %q, want topic %s", r.ID, r.Source, topic)
		}
		if i > 0 {
			p := rows[i-1]
			if r.EventTime < p.EventTime || r.EventTime == p.EventTime && (r.Partition < p.Partition || r.Partition == p.Partition && r.Offset <= p.Offset) {
				t.Fatalf("rows %s and %s are not in (time, partition, offset) order", p.ID, r.ID)
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("replay scored %d events (%v … %v), want exactly the %d in [from, to) (%s … %s)",
			len(got), got[:min(2, len(got))], got[max(0, len(got)-2):], len(want), want[0], want[len(want)-1])
	}
	if len(parts) != 4 {
		t.Fatalf("rows came from partitions %v, want all 4", parts)
	}
	bbytes, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(abytes, bbytes) {
		// The same rows in the same order with the same fields; a score may
		// differ by ONNX Runtime's rounding for another batch shape (batches
		// form as the partitions' fetches arrive), and by no more.
		al, bl := bytes.Split(bytes.TrimSpace(abytes), []byte("\n")), bytes.Split(bytes.TrimSpace(bbytes), []byte("\n"))
		if len(al) != len(bl) {
			t.Fatalf("two replays of the same range wrote %d and %d rows", len(al), len(bl))
		}
		differ := 0
		for i := range al {
			if bytes.Equal(al[i], bl[i]) {
				continue
			}
			differ++
			var x, y any
			if err := json.Unmarshal(al[i], &x); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(bl[i], &y); err != nil {
				t.Fatal(err)
			}
			if path, ok := sameWithinRounding(x, y, ""); !ok {
				t.Fatalf("two replays of the same range differ at row %d, %s:\n%s\n%s", i, path, al[i], bl[i])
			}
		}
		t.Logf("two replays: %d of %d rows differ in a score's last float32 digits (batch shapes differed)", differ, len(al))
	}
	if !strings.Contains(report, "RMSE") || !strings.Contains(report, "events: 1000, scored: 1000") {
		t.Fatalf("report lacks the metrics or the counts:\n%s", report)
	}
	// Tests in other processes create their own groups meanwhile (named
	// after their unique topics, "it-…" and "bench.…"); any other new group,
	// or one named after this test's topic, would be the replay's.
	var joined []string
	for _, g := range listGroups(t, brokers) {
		others := strings.HasPrefix(g, "bench.") || (strings.HasPrefix(g, "it-") && !strings.Contains(g, topic))
		if !slices.Contains(groupsBefore, g) && !others {
			joined = append(joined, g)
		}
	}
	if len(joined) > 0 {
		t.Fatalf("the replay joined consumer groups %v", joined)
	}

	t.Run("to-topic", func(t *testing.T) {
		out := topic + ".replay"
		streamscore(t, "replay", "--brokers", brokers[0], "--schema", filepath.Join(root, "testdata/linear.schema.yaml"),
			"--model", "linear="+filepath.Join(root, "testdata/models/linear.onnx"), "--topic", topic,
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--label", "label", "-q", "--to-topic", out)
		msgs := readAll(t, brokers, out, len(want), 30*time.Second)
		if len(msgs) != len(want) {
			t.Fatalf("%d records on %s, want %d", len(msgs), out, len(want))
		}
		// Each record is the file output's line for its event, byte for
		// byte, or but for a score's last float32 digits (another batch
		// shape, as between the two file replays above).
		lines := map[string][]byte{}
		for _, line := range bytes.Split(bytes.TrimSpace(abytes), []byte("\n")) {
			var ev struct {
				ID string `json:"event_id"`
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatal(err)
			}
			lines[ev.ID] = line
		}
		rounded := 0
		for _, m := range msgs {
			var x, y any
			if err := json.Unmarshal(m.Value, &x); err != nil {
				t.Fatalf("record on %s is not JSON: %s", out, m.Value)
			}
			id, _ := x.(map[string]any)["event_id"].(string)
			line, ok := lines[id]
			if !ok {
				t.Fatalf("record on %s is not an event of the file output: %s", out, m.Value)
			}
			if bytes.Equal(line, m.Value) {
				continue
			}
			if err := json.Unmarshal(line, &y); err != nil {
				t.Fatal(err)
			}
			if path, ok := sameWithinRounding(x, y, ""); !ok {
				t.Fatalf("record on %s differs from the file output at %s:\n%s\n%s", out, path, m.Value, line)
			}
			rounded++
		}
		if rounded > 0 {
			t.Logf("%d of %d records differ from the file output in a score's last float32 digits", rounded, len(msgs))
		}
	})

	t.Run("production topics are refused", func(t *testing.T) {
		cfg := writeConfig(t, fmt.Sprintf("brokers: [%q]\ntopics: {input: %s, output: prod.scored, dlq: prod.dlq}\nschema: %s\nmodel: {path: %s}\n",
			brokers[0], topic, filepath.Join(root, "testdata/linear.schema.yaml"), filepath.Join(root, "testdata/models/linear.onnx")))
		for _, dst := range []string{"prod.scored", "prod.dlq", topic} {
			out, err := streamscoreErr(t, "replay", "--config", cfg, "--topic", topic, "--to-topic", dst, "-q")
			if err == nil || !strings.Contains(out, "a replay writes to a topic of its own") {
				t.Fatalf("--to-topic %s: err %v, output %s; want a refusal", dst, err, out)
			}
		}
	})

	t.Run("ends while producers write", func(t *testing.T) {
		// Without --to the end offsets taken at the start bound the replay,
		// so it finishes while new events keep arriving.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, BatchTimeout: 5 * time.Millisecond}
			defer w.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				w.WriteMessages(context.Background(), kafka.Message{Key: []byte("late"), Value: []byte(fmt.Sprintf(`{"event_id":"late-%d","user_id":"late"}`, i))})
			}
		})
		defer func() { close(stop); wg.Wait() }()
		time.Sleep(200 * time.Millisecond)
		out := filepath.Join(dir, "open.jsonl")
		start := time.Now()
		said := streamscore(t, "replay", "--brokers", brokers[0], "--schema", filepath.Join(root, "testdata/linear.schema.yaml"),
			"--model", filepath.Join(root, "testdata/models/linear.onnx"), "--topic", topic, "--from", from.Format(time.RFC3339), "--out", out)
		rows, _ := readReplayRows(t, out)
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		var missing []string
		for _, e := range evs[1000:] {
			if !slices.Contains(ids, e.id) {
				missing = append(missing, e.id)
			}
		}
		if len(missing) > 0 {
			var first []string
			for _, r := range rows[:min(5, len(rows))] {
				first = append(first, fmt.Sprintf("%s p%d o%d t%d", r.ID, r.Partition, r.Offset, r.EventTime))
			}
			t.Fatalf("open-ended replay lacks %d: %v; %d rows, first %v\n%s", len(missing), missing[:min(10, len(missing))], len(rows), first, said)
		}
		t.Logf("open-ended replay ended in %s with %d rows", time.Since(start).Round(time.Millisecond), len(rows))
	})
}

// TestReplayChampionChallenger replays a file with two models that decide
// differently exactly where f00 and f01 have different signs: the report
// names exactly those rows, and two replays write identical Parquet files
// and reports.
func TestReplayChampionChallenger(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	root := repoRoot(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.jsonl")
	evs := writeHistory(t, hist, 5000, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 2)
	run := func(i int) (parquet, js, html []byte) {
		// The same paths each time (the report names its output file); the
		// files are read and removed before the next run.
		p := filepath.Join(dir, "scored.parquet")
		j := filepath.Join(dir, "report.json")
		h := filepath.Join(dir, "report.html")
		streamscore(t, "replay", "--schema", filepath.Join(root, "testdata/mlp_score.schema.yaml"), "--file", hist,
			"--model", "champion="+filepath.Join(root, "testdata/replay/champion.onnx"),
			"--model", "challenger="+filepath.Join(root, "testdata/replay/challenger.onnx"),
			"--label", "label", "-q", "--out", p, "--report", j, "--report", h, "--batch-rows", strconv.Itoa(300+i*211))
		var out [3][]byte
		for k, f := range []string{p, j, h} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = b
			os.Remove(f)
		}
		return out[0], out[1], out[2]
	}
	p0, j0, h0 := run(0)
	var rep struct {
		Task          string `json:"task"`
		Scored        int    `json:"scored"`
		Disagreements []struct {
			Champion, Challenger string
			Rows, Differ         int
			IDs                  []string `json:"ids"`
		} `json:"disagreements"`
		Models []struct {
			Name       string          `json:"name"`
			Classifier json.RawMessage `json:"classifier"`
		} `json:"models"`
	}
	if err := json.Unmarshal(j0, &rep); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range evs {
		if (e.feats[0] > 0) != (e.feats[1] > 0) {
			want = append(want, e.id)
		}
	}
	if rep.Task != "classifier" || rep.Scored != len(evs) || len(rep.Disagreements) != 1 || len(rep.Models) != 2 || rep.Models[1].Classifier == nil {
		t.Fatalf("report: task %s, %d scored, %d disagreements, %d models", rep.Task, rep.Scored, len(rep.Disagreements), len(rep.Models))
	}
	d := rep.Disagreements[0]
	if d.Champion != "champion" || d.Challenger != "challenger" || d.Rows != len(evs) || d.Differ != len(want) || !slices.Equal(d.IDs, want) {
		t.Fatalf("disagreement names %d rows, want exactly the %d whose f00 and f01 signs differ", len(d.IDs), len(want))
	}
	if !bytes.Contains(h0, []byte("<svg")) || !bytes.Contains(h0, []byte("ROC curve")) || !bytes.Contains(h0, []byte("Calibration")) {
		t.Fatal("HTML report lacks its charts")
	}
	// A different batch size must not change a byte: batches close on size
	// only, rows keep file order, and nothing time-dependent is written.
	p1, j1, h1 := run(1)
	if !bytes.Equal(p0, p1) || !bytes.Equal(j0, j1) || !bytes.Equal(h0, h1) {
		t.Fatalf("two replays differ: parquet %v, json %v, html %v", bytes.Equal(p0, p1), bytes.Equal(j0, j1), bytes.Equal(h0, h1))
	}
}

// sameWithinRounding reports whether two decoded JSON values are equal,
// numbers within a relative 1e-6 (a float32 step or two), and where not.
func sameWithinRounding(x, y any, path string) (string, bool) {
	switch xv := x.(type) {
	case float64:
		yv, ok := y.(float64)
		if !ok || math.Abs(xv-yv) > 1e-6*math.Max(1, math.Abs(xv)) {
			return path, false
		}
		return "", true
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return path, false
		}
		for k, v := range xv {
			if p, ok := sameWithinRounding(v, yv[k], path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return path, false
		}
		for i := range xv {
			if p, ok := sameWithinRounding(xv[i], yv[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	default:
		return path, x == y
	}
}
