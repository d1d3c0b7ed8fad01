//go:build integration

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// poisonSchema is the linear schema with limits large enough that the
// oversized records of the poison test decode (up to 2 MiB) and reach the
// producer.
func poisonSchema(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/linear.schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "limits:\n  max_message_bytes: 65536\n", "limits:\n  max_message_bytes: 2097152\n  max_string_bytes: 1572864\n", 1)
	if s == string(b) {
		t.Fatal("linear.schema.yaml has changed: update poisonSchema")
	}
	p := filepath.Join(t.TempDir(), "poison.schema.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// createTopicsWith creates topics with 8 partitions and the given topic
// configs.
func createTopicsWith(t *testing.T, brokers []string, configs map[string]string, topics ...string) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	var tcs []kafka.TopicConfig
	for _, topic := range topics {
		tc := kafka.TopicConfig{Topic: topic, NumPartitions: 8, ReplicationFactor: 1}
		for k, v := range configs {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		tcs = append(tcs, tc)
	}
	res, err := c.CreateTopics(t.Context(), &kafka.CreateTopicsRequest{Topics: tcs})
	if err != nil {
		t.Fatal(err)
	}
	for topic, err := range res.Errors {
		if err != nil {
			t.Fatalf("creating %s: %v", topic, err)
		}
	}
}

// TestPoisonOutputNeverStalls mixes records the broker can never accept as
// they are into a stream of good events: every good event is scored once,
// every poison record ends in the DLQ with its reason (truncated where it
// would not fit), scoring never stops, and a graceful stop exits 0.
func TestPoisonOutputNeverStalls(t *testing.T) {
	brokers := strings.Split(servicetest.Env(t, "STREAMSCORE_BROKERS"), ",")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	in, out, dlq, group := uniqueTopics("it-poison")
	// The input topic takes records up to 25 MB, as a topic may; the output
	// and dead-letter topics keep the broker's default (1 MB).
	createTopicsWith(t, brokers, map[string]string{"max.message.bytes": strconv.Itoa(25 << 20)}, in)
	createTopicsWith(t, brokers, nil, out, dlq)

	const good, each = 50000, 20
	evs := makeEvents(good, 1000, 23)
	type poison struct {
		kind   string
		key    []byte
		value  []byte
		reason string // "" means either outcome, as long as there is exactly one
		trunc  bool
	}
	var poisons []poison
	big := func(n int) string { return strings.Repeat("m", n) }
	for i := range each {
		id := func(kind string) string { return fmt.Sprintf("p-%s-%d", kind, i) }
		base := func(kind, extra string) []byte {
			v := evs[i].value
			v = bytes.Replace(v, []byte(`"event_id":"`+evs[i].id+`"`), []byte(`"event_id":"`+id(kind)+`"`), 1)
			return bytes.Replace(v, []byte(`"merchant":"m-1"`), []byte(extra), 1)
		}
		// 1 MB Kafka key: the scored event cannot carry it.
		poisons = append(poisons, poison{kind: "key", key: []byte(big(1 << 20)), value: base("key", `"merchant":"m-1"`), reason: "too_large", trunc: true})
		// A value of 1,000,102 bytes: it decodes, but its scored event (the
		// passthrough field plus the scored event's own fields, which weigh
		// more than the zero features) is over producer.batch_bytes.
		var vb bytes.Buffer
		fmt.Fprintf(&vb, `{"event_id":%q,"user_id":%q`, id("value"), evs[i].key)
		for f := range 24 {
			fmt.Fprintf(&vb, `,"f%02d":0`, f)
		}
		vb.WriteString(`,"merchant":"`)
		vb.WriteString(big(1000102 - vb.Len() - 2))
		vb.WriteString(`"}`)
		v := vb.Bytes()
		poisons = append(poisons, poison{kind: "value", key: []byte(evs[i].key), value: v, reason: "output_rejected", trunc: true})
		// 1 MB field names.
		poisons = append(poisons, poison{kind: "names", key: []byte(evs[i].key), value: base("names", `"merchant":"m-1","`+big(1<<20)+`":1`)})
		// 20 MB value on a topic that allows it: too large for the schema,
		// and its dead letter too large for the DLQ.
		poisons = append(poisons, poison{kind: "huge", key: []byte(evs[i].key), value: base("huge", `"merchant":"`+big(20<<20)+`"`), reason: "too_large", trunc: true})
	}
	for _, p := range poisons[:4] {
		if len(p.value) > 0 && p.kind == "value" && len(p.value) != 1000102 {
			t.Fatalf("value poison is %d bytes, want 1000102", len(p.value))
		}
	}

	col := newCollector(t, brokers, out, dlq)
	cfg := writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 8}
schema: %s
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 512, max_wait: 10ms}
consumer: {max_bytes: 31457280}
pipeline: {drain_timeout: 20s}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, poisonSchema(t), repoRoot(t)))
	cmd, logs := startRun(t, cfg)

	// Good events and poison interleaved: a poison record every
	// good/len(poisons) good events.
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: in, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, BatchBytes: 30 << 20}
	defer w.Close()
	start := time.Now()
	stride := good / len(poisons)
	msgs := make([]kafka.Message, 0, 1000)
	flush := func() {
		if len(msgs) == 0 {
			return
		}
		if err := w.WriteMessages(t.Context(), msgs...); err != nil {
			t.Fatalf("producing: %v", err)
		}
		msgs = msgs[:0]
	}
	for i := range evs {
		msgs = append(msgs, kafka.Message{Key: []byte(evs[i].key), Value: evs[i].value})
		if i%stride == stride/2 && i/stride < len(poisons) {
			p := poisons[i/stride]
			flush()
			msgs = append(msgs, kafka.Message{Key: p.key, Value: p.value})
			flush()
		}
		if len(msgs) == cap(msgs) {
			flush()
		}
	}
	flush()
	t.Logf("produced %d good events and %d poison records in %s", good, len(poisons), time.Since(start).Round(time.Millisecond))

	col.waitDistinct(t, good+len(poisons), 4*time.Minute, 2*time.Second)
	t.Logf("every event has an outcome %s after producing began", time.Since(start).Round(time.Millisecond))
	cmd.Process.Signal(syscall.SIGTERM)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not exit within 30 s of SIGTERM")
	}
	if strings.Contains(logs.String(), "publishing paused") {
		t.Errorf("publishing paused although every poison record has a dead-letter form")
	}

	col.mu.Lock()
	for _, e := range evs {
		if col.scored[e.id] != 1 || col.dead[e.id] != 0 {
			t.Errorf("good event %s: scored %d times, dead-lettered %d times", e.id, col.scored[e.id], col.dead[e.id])
		}
	}
	for i, p := range poisons {
		id := fmt.Sprintf("p-%s-%d", p.kind, i/4)
		n := col.scored[id] + col.dead[id]
		switch {
		case n != 1:
			t.Errorf("poison %s has %d outcomes, want 1", id, n)
		case p.reason != "" && col.reasons[id] != p.reason:
			t.Errorf("poison %s: reason %q, want %q", id, col.reasons[id], p.reason)
		}
	}
	inDLQ := 0
	for _, n := range col.dead {
		inDLQ += n
	}
	col.mu.Unlock()

	// Truncated dead letters say so, with the original size and digest.
	var wantTrunc int
	for _, p := range poisons {
		if p.trunc {
			wantTrunc++
		}
	}
	truncated := 0
	for _, m := range readAll(t, brokers, dlq, inDLQ, time.Minute) {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["streamscore.truncated"] != "true" {
			continue
		}
		truncated++
		if h["streamscore.original.value.sha256"] == "" || h["streamscore.original.value.bytes"] == "" || len(m.Value)+len(m.Key) > 1<<20 {
			t.Errorf("truncated dead letter of %d+%d bytes, headers %v", len(m.Key), len(m.Value), h)
		}
	}
	if truncated != wantTrunc {
		t.Errorf("%d truncated dead letters, want %d", truncated, wantTrunc)
	}
}
