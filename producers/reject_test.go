package producers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/internal/letterlog"
	"github.com/streamscore/streamscore/schemas"
)

// createTopic creates topic on the fake cluster with its max.message.bytes
// set to maxBytes (0: the default).
func createTopic(t *testing.T, brokers []string, topic string, maxBytes int) {
	t.Helper()
	tc := kafka.TopicConfig{Topic: topic, NumPartitions: 4, ReplicationFactor: 1}
	if maxBytes > 0 {
		tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(maxBytes)}}
	}
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := c.CreateTopics(t.Context(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Errors[topic]; err != nil {
		t.Fatal(err)
	}
}

func emptyCluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func headers(m kafka.Message) map[string]string {
	h := map[string]string{}
	for _, x := range m.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// scoredBatch returns n small scored events, each with its input, plus
// extra scored events given as (key, value) pairs.
func scoredBatch(n int, extra ...[2][]byte) []schemas.Message {
	var out []schemas.Message
	add := func(key, value []byte) {
		i := len(out)
		in := &schemas.Message{Topic: "in", Partition: i % 4, Offset: int64(i), Key: key, Value: []byte(`{"input":` + strconv.Itoa(i) + `}`)}
		out = append(out, schemas.Message{Key: key, Value: value, Origin: in})
	}
	for i := range n {
		add([]byte("k"+strconv.Itoa(i)), []byte(`{"n":`+strconv.Itoa(i)+`}`))
	}
	for _, e := range extra {
		add(e[0], e[1])
	}
	return out
}

func TestOversizedRecordsBecomeDeadLetters(t *testing.T) {
	big := bytes.Repeat([]byte("v"), 9000)
	bigKey := bytes.Repeat([]byte("k"), 9000)
	tests := []struct {
		name       string
		topicMax   int // output topic's max.message.bytes; 0 means the default
		dlqMax     int
		scored     []schemas.Message
		dead       []schemas.DeadLetter
		wantScored int
		wantDead   map[schemas.Reason]int
		truncated  bool
	}{
		{
			name:       "scored event over max_message_bytes",
			scored:     scoredBatch(20, [2][]byte{[]byte("kb"), big}),
			wantScored: 20, wantDead: map[schemas.Reason]int{schemas.ReasonOutputRejected: 1},
		},
		{
			name:       "Kafka key over max_message_bytes",
			scored:     scoredBatch(20, [2][]byte{bigKey, []byte(`{"n":1}`)}),
			wantScored: 20, wantDead: map[schemas.Reason]int{schemas.ReasonTooLarge: 1}, truncated: true,
		},
		{
			name:       "broker refuses a scored event the guard passed",
			topicMax:   2000,
			scored:     scoredBatch(50, [2][]byte{[]byte("kb"), big[:3000]}),
			wantScored: 50, wantDead: map[schemas.Reason]int{schemas.ReasonOutputRejected: 1},
		},
		{
			name: "dead letter over max_message_bytes is truncated",
			dead: []schemas.DeadLetter{{Msg: schemas.Message{Topic: "in", Partition: 1, Offset: 7, Value: big,
				Headers: []schemas.Header{{Key: "h", Value: big}}}, Reason: schemas.ReasonTooLarge, Detail: "too big"}},
			wantDead: map[schemas.Reason]int{schemas.ReasonTooLarge: 1}, truncated: true,
		},
		{
			name:   "broker refuses the truncated dead letter: a stub",
			dlqMax: 2000,
			dead: []schemas.DeadLetter{{Msg: schemas.Message{Topic: "in", Partition: 1, Offset: 7, Value: big[:5000]},
				Reason: schemas.ReasonInvalidJSON, Detail: "not json"}},
			wantDead: map[schemas.Reason]int{schemas.ReasonInvalidJSON: 1}, truncated: true,
		},
	}
	for _, tc := range tests {
		for _, req := range []Requests{PerPartition, PerBroker} {
			t.Run(tc.name+"/"+string(req), func(t *testing.T) {
				brokers := emptyCluster(t)
				createTopic(t, brokers, "scored", tc.topicMax)
				createTopic(t, brokers, "dlq", tc.dlqMax)
				reg := prometheus.NewRegistry()
				w, err := New(Config{Brokers: brokers, Topic: "scored", DLQTopic: "dlq", MaxMessageBytes: 8192, Requests: req}, nil, reg)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				if err := w.Publish(ctx, tc.scored, tc.dead); err != nil {
					t.Fatalf("Publish = %v, want nil", err)
				}
				readTopic(t, brokers, "scored", tc.wantScored)
				want := 0
				for _, n := range tc.wantDead {
					want += n
				}
				got := map[schemas.Reason]int{}
				for _, m := range readTopic(t, brokers, "dlq", want) {
					h := headers(m)
					got[schemas.Reason(h[schemas.HeaderReason])]++
					if h[schemas.HeaderSourceTopic] != "in" {
						t.Errorf("dead letter without its source: %v", h)
					}
					if tc.truncated != (h[HeaderTruncated] == "true") {
						t.Errorf("truncated header = %q, want truncated %v", h[HeaderTruncated], tc.truncated)
					}
					if !tc.truncated {
						continue
					}
					var orig []byte
					if len(tc.dead) > 0 {
						orig = tc.dead[0].Msg.Value
					} else {
						orig = tc.scored[len(tc.scored)-1].Origin.Value
					}
					if h[HeaderOriginalValueBytes] != strconv.Itoa(len(orig)) || h[HeaderOriginalValueSHA256] != hexSHA(orig) {
						t.Errorf("original size/sha256 headers %q %q, want %d %s", h[HeaderOriginalValueBytes], h[HeaderOriginalValueSHA256], len(orig), hexSHA(orig))
					}
					if !bytes.HasPrefix(orig, m.Value) || len(m.Key) > maxKeyBytes {
						t.Errorf("truncated value is not a prefix of the original (%d of %d bytes) or key of %d bytes", len(m.Value), len(orig), len(m.Key))
					}
					if _, ok := h["h"]; ok {
						t.Errorf("truncated dead letter kept the original headers")
					}
				}
				for r, n := range tc.wantDead {
					if got[r] != n {
						t.Errorf("dead letters %v, want %v", got, tc.wantDead)
					}
				}
				if v := testutil.ToFloat64(w.m.paused); v != 0 {
					t.Errorf("streamscore_producer_paused = %v, want 0", v)
				}
			})
		}
	}
}

func TestUnpublishableDeadLetterPausesLoudly(t *testing.T) {
	brokers := emptyCluster(t)
	createTopic(t, brokers, "scored", 0)
	createTopic(t, brokers, "dlq", 100) // smaller than any dead letter's headers
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	w, err := New(Config{Brokers: brokers, Topic: "scored", DLQTopic: "dlq"}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	dead := []schemas.DeadLetter{{Msg: schemas.Message{Topic: "in", Value: []byte("not json")}, Reason: schemas.ReasonInvalidJSON}}
	done := make(chan error, 1)
	w.PublishAsync(ctx, scoredBatch(3), dead, func(err error) { done <- err })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "publishing paused") {
		select {
		case err := <-done:
			t.Fatalf("done(%v) before pausing", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("never paused; logs:\n%s", logs.String())
		}
	}
	if v := testutil.ToFloat64(w.m.paused); v != 1 {
		t.Errorf("streamscore_producer_paused = %v while paused, want 1", v)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("done(%v), want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("done was never called after cancel")
	}
	readTopic(t, brokers, "scored", 3)
}

func TestScoredEventWithoutDLQIsDroppedLoudly(t *testing.T) {
	brokers := emptyCluster(t)
	createTopic(t, brokers, "scored", 0)
	var logs syncBuffer
	w, err := New(Config{Brokers: brokers, Topic: "scored", MaxMessageBytes: 8192}, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Publish(t.Context(), scoredBatch(5, [2][]byte{[]byte("k"), bytes.Repeat([]byte("v"), 9000)}), nil); err != nil {
		t.Fatal(err)
	}
	readTopic(t, brokers, "scored", 5)
	if v := testutil.ToFloat64(w.m.dropped); v != 1 {
		t.Errorf("streamscore_producer_dropped_total = %v, want 1", v)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "topics.dlq") {
		t.Errorf("drop not logged at ERROR with the fix:\n%s", logs.String())
	}
}

// Without a dead-letter topic, 50 dead letters are dropped with the first
// few logged in full and the rest in one summary, not one line each.
func TestDeadLettersWithoutDLQAreLoggedAsSummaries(t *testing.T) {
	brokers := emptyCluster(t)
	createTopic(t, brokers, "scored", 0)
	var logs syncBuffer
	w, err := New(Config{Brokers: brokers, Topic: "scored"}, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	dead := make([]schemas.DeadLetter, 50)
	for i := range dead {
		dead[i] = schemas.DeadLetter{Msg: schemas.Message{Topic: "events", Offset: int64(i)}, Reason: schemas.ReasonTypeMismatch, Detail: "not a number"}
	}
	if err := w.Publish(t.Context(), nil, dead); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // writes the pending summary
		t.Fatal(err)
	}
	out := logs.String()
	if n := strings.Count(out, `msg="dropping dead letter: no dead-letter topic is configured"`); n != letterlog.Full {
		t.Errorf("%d dead letters logged in full, want %d:\n%s", n, letterlog.Full, out)
	}
	if !strings.Contains(out, "dead letters dropped since the last summary") || !strings.Contains(out, fmt.Sprintf("count=%d", 50-letterlog.Full)) ||
		!strings.Contains(out, fmt.Sprintf("by_reason.type_mismatch=%d", 50-letterlog.Full)) {
		t.Errorf("no summary of the other %d letters by reason:\n%s", 50-letterlog.Full, out)
	}
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{kafka.MessageSizeTooLarge, true},
		{kafka.RecordListTooLarge, true},
		{kafka.InvalidRecord, true},
		{kafka.MessageTooLargeError{}, true},
		{kafka.LeaderNotAvailable, false},
		{kafka.NotLeaderForPartition, false},
		{kafka.RequestTimedOut, false},
		{kafka.UnknownTopicOrPartition, false},
		{context.DeadlineExceeded, false},
		{errors.New("write tcp: broken pipe"), false},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			if got := permanent(tc.err); got != tc.want {
				t.Fatalf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
