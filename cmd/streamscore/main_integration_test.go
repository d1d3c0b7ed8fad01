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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/producers"
)

// These tests run the real binary against the real broker and ONNX Runtime
// that `make test` starts (deployments/local/up.sh exports their addresses).

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamscore-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// STREAMSCORE_TEST_BINARY names a streamscore binary built from this
	// tree already (integration.sh builds one for its two shards).
	if binPath = os.Getenv("STREAMSCORE_TEST_BINARY"); binPath == "" {
		binPath = filepath.Join(dir, "streamscore")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building streamscore: %v\n%s", err, out)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// uniqueTopics returns topic names no other test run uses.
func uniqueTopics(prefix string) (in, out, dlq, group string) {
	s := fmt.Sprintf("%s.%d", prefix, time.Now().UnixNano())
	return s + ".in", s + ".out", s + ".dlq", s + ".group"
}

type linearWeights struct {
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

func loadWeights(t *testing.T) linearWeights {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/models/linear.weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	var w linearWeights
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Coef) != 32 {
		t.Fatalf("linear.weights.json has %d coefficients, want 32", len(w.Coef))
	}
	return w
}

type inputEvent struct {
	id    string
	key   string
	seq   int // position of this event within its key
	feats [32]float32
	value []byte
}

func makeEvents(n, keys int, seed uint64) []inputEvent {
	r := rand.New(rand.NewPCG(seed, 1))
	seqs := make([]int, keys)
	evs := make([]inputEvent, n)
	for i := range evs {
		k := r.IntN(keys)
		e := &evs[i]
		e.id = fmt.Sprintf("it-%d", i)
		e.key = fmt.Sprintf("user-%d", k)
		e.seq = seqs[k]
		seqs[k]++
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"event_id":%q,"user_id":%q,"ts":%d,"seq":%d`, e.id, e.key, time.Now().UnixMilli(), e.seq)
		for f := range 32 {
			e.feats[f] = float32(r.NormFloat64())
			fmt.Fprintf(&b, `,"f%02d":%s`, f, strconv.FormatFloat(float64(e.feats[f]), 'g', -1, 32))
		}
		b.WriteString(`,"merchant":"m-1"}`)
		e.value = b.Bytes()
	}
	return evs
}

func produce(t *testing.T, brokers []string, topic string, evs []inputEvent) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 1000}
	defer w.Close()
	msgs := make([]kafka.Message, 0, 1000)
	for i := range evs {
		msgs = append(msgs, kafka.Message{Key: []byte(evs[i].key), Value: evs[i].value})
		if len(msgs) == cap(msgs) || i == len(evs)-1 {
			if err := producers.WriteFresh(t.Context(), w, msgs); err != nil {
				t.Fatalf("producing: %v", err)
			}
			msgs = msgs[:0]
		}
	}
}

type scoredEvent struct {
	ID        string             `json:"event_id"`
	Key       string             `json:"key"`
	Topic     string             `json:"topic"`
	Partition int                `json:"partition"`
	Offset    int64              `json:"offset"`
	Model     string             `json:"model"`
	Version   string             `json:"model_version"`
	Scores    map[string]float64 `json:"scores"`
	Pass      map[string]any     `json:"passthrough"`
	InputTS   int64              `json:"input_ts"`
	ScoredAt  int64              `json:"scored_at"`
}

// readAll reads every partition of topic from the start with plain kafka-go
// until want records arrived or timeout passed, in per-partition order.
func readAll(t *testing.T, brokers []string, topic string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	return readAllWith(t, kafka.DefaultDialer, brokers, topic, want, timeout)
}

// readAllWith is readAll connecting through d (TLS, SASL).
func readAllWith(t *testing.T, d *kafka.Dialer, brokers []string, topic string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	conn, err := d.DialContext(t.Context(), "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var (
		mu   sync.Mutex
		out  []kafka.Message
		wg   sync.WaitGroup
		done = make(chan struct{})
		once sync.Once
	)
	for _, p := range parts {
		wg.Go(func() {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Dialer: d, Topic: topic, Partition: p.ID, MaxWait: time.Second})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				out = append(out, m)
				if len(out) >= want {
					once.Do(func() { close(done) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-done:
		time.Sleep(500 * time.Millisecond) // catch any extra (duplicate) records
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	return out
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "streamscore.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func linearConfig(t *testing.T, in, out, dlq, group string) string {
	root := repoRoot(t)
	return writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 8}
schema: %s/testdata/linear.schema.yaml
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 512, max_wait: 10ms}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, root, root))
}

// startRun starts `streamscore run`; its logs go to the test log on failure.
func startRun(t *testing.T, cfg string) (*exec.Cmd, *servicetest.Logs) {
	t.Helper()
	return startRunEnv(t, cfg)
}

// startRunEnv is startRun with extra environment variables (NAME=value).
func startRunEnv(t *testing.T, cfg string, env ...string) (*exec.Cmd, *servicetest.Logs) {
	t.Helper()
	cmd := exec.Command(binPath, "run", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	logs := &servicetest.Logs{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("streamscore run logs:\n%s", servicetest.Tail(logs.String(), 4000))
		}
	})
	return cmd, logs
}

func TestRunScoresEveryEventOnceInKeyOrder(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	in, out, dlq, group := uniqueTopics("it-run")
	cfg := linearConfig(t, in, out, dlq, group)
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	const n = 20000
	evs := makeEvents(n, 500, 42)
	produce(t, brokers, in, evs)

	// The topics have 8 partitions; run is told 2, and sizes its
	// producer's batches from the output topic's real count: 512 rows over
	// 8 partitions, twice a share, 128 (256 for 2 partitions).
	runCfg, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd, logs := startRun(t, writeConfig(t, strings.Replace(string(runCfg), "partitions: 8}", "partitions: 2}", 1)))
	msgs := readAll(t, brokers, out, n, 3*time.Minute)

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
	}
	if l := logs.String(); !strings.Contains(l, `"msg":"producer.batch_size follows the output topic's partitions"`) || !strings.Contains(l, `"partitions":8,"topics.partitions":2,"batch_size":128`) {
		t.Errorf("run did not size its batches for the output topic's 8 partitions; its log:\n%s", servicetest.Tail(l, 3000))
	}

	if len(msgs) != n {
		t.Fatalf("got %d scored events, want exactly %d", len(msgs), n)
	}
	w := loadWeights(t)
	byID := make(map[string]*inputEvent, n)
	for i := range evs {
		byID[evs[i].id] = &evs[i]
	}
	seen := make(map[string]bool, n)
	type pos struct {
		partition int
		offset    int64
		seq       int
	}
	lastByKey := map[string]pos{}
	for _, m := range msgs {
		var ev scoredEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("scored event is not JSON: %v: %s", err, m.Value)
		}
		src, ok := byID[ev.ID]
		if !ok {
			t.Fatalf("scored event for unknown id %q", ev.ID)
		}
		if seen[ev.ID] {
			t.Fatalf("event %s scored twice", ev.ID)
		}
		seen[ev.ID] = true
		if ev.Key != src.key || string(m.Key) != src.key {
			t.Fatalf("event %s: key %q / record key %q, want %q", ev.ID, ev.Key, m.Key, src.key)
		}
		if ev.Topic != in || ev.Model != "linear" || ev.Version != "1" || ev.Pass["merchant"] != "m-1" {
			t.Fatalf("event %s: topic %q model %q/%q passthrough %v", ev.ID, ev.Topic, ev.Model, ev.Version, ev.Pass)
		}
		// The model computed here from its own weights, independently.
		want := w.Intercept
		for f, c := range w.Coef {
			want += c * float64(src.feats[f])
		}
		if got := ev.Scores["score"]; math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Fatalf("event %s: score %.9g, want %.9g", ev.ID, got, want)
		}
		// Per-key order: a key's scored events sit in one output partition
		// in the order of their input sequence.
		if last, ok := lastByKey[src.key]; ok {
			if last.partition != m.Partition {
				t.Fatalf("key %s scored into partitions %d and %d", src.key, last.partition, m.Partition)
			}
			if m.Offset > last.offset && src.seq < last.seq {
				t.Fatalf("key %s out of order: seq %d after seq %d", src.key, src.seq, last.seq)
			}
		}
		if last, ok := lastByKey[src.key]; !ok || m.Offset > last.offset {
			lastByKey[src.key] = pos{m.Partition, m.Offset, src.seq}
		}
	}
	// Order check across the whole key: sort each partition's records by
	// offset and check the sequence grows.
	perKey := map[string][]pos{}
	for _, m := range msgs {
		var ev scoredEvent
		json.Unmarshal(m.Value, &ev)
		perKey[ev.Key] = append(perKey[ev.Key], pos{m.Partition, m.Offset, byID[ev.ID].seq})
	}
	for k, ps := range perKey {
		for i := range ps {
			for j := range ps {
				if ps[i].offset < ps[j].offset && ps[i].seq > ps[j].seq {
					t.Fatalf("key %s: seq %d at offset %d precedes seq %d at offset %d", k, ps[i].seq, ps[i].offset, ps[j].seq, ps[j].offset)
				}
			}
		}
	}
	assertCommittedToEnd(t, brokers, group, in)
}

// assertCommittedToEnd checks the group's committed offsets equal the end
// of every input partition: everything consumed was committed.
func assertCommittedToEnd(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, len(parts))
	var offReq []kafka.OffsetRequest
	for i, p := range parts {
		ids[i] = p.ID
		offReq = append(offReq, kafka.LastOffsetOf(p.ID))
	}
	ends, err := client.ListOffsets(t.Context(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: offReq}})
	if err != nil {
		t.Fatal(err)
	}
	committed, err := client.OffsetFetch(t.Context(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		t.Fatal(err)
	}
	end := map[int]int64{}
	for _, po := range ends.Topics[topic] {
		end[po.Partition] = po.LastOffset
	}
	for _, po := range committed.Topics[topic] {
		if po.CommittedOffset != end[po.Partition] {
			t.Errorf("partition %d: committed %d, end %d", po.Partition, po.CommittedOffset, end[po.Partition])
		}
	}
}

func TestDemoShort(t *testing.T) {
	servicetest.Env(t, "STREAMSCORE_BROKERS")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	cmd := exec.Command(binPath, "demo", "--backlog", "3000", "--live", "600", "--rate", "600", "--topic-prefix", fmt.Sprintf("it-demo-%d", time.Now().UnixNano()))
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, servicetest.Tail(string(out), 4000))
	}
	for _, want := range []string{"sample scored events:", "events in", "scored", "dead letters", "backlog throughput", "p99"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, servicetest.Tail(string(out), 4000))
		}
	}
}
