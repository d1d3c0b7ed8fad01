package consumers

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/contracts"
)

// lettersCluster returns a fake cluster whose topic "dlq" (2 partitions)
// holds n dead letters: reasons in turn invalid_json, type_mismatch,
// type_mismatch; letter i written at base + i minutes.
func lettersCluster(t *testing.T, n int, base time.Time) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "dlq", "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	reasons := []schemas.Reason{schemas.ReasonInvalidJSON, schemas.ReasonTypeMismatch, schemas.ReasonTypeMismatch}
	var msgs []kafka.Message
	for i := range n {
		d := schemas.DeadLetter{Msg: schemas.Message{Topic: "events", Partition: i % 3, Offset: int64(i), Value: []byte(fmt.Sprintf(`{"n":%d`, i))},
			Reason: reasons[i%3], Detail: "bad", At: base.Add(time.Duration(i) * time.Minute)}
		m := kafka.Message{Key: []byte(fmt.Sprint("k", i)), Value: d.Msg.Value}
		for _, h := range d.Headers() {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		msgs = append(msgs, m)
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "dlq", Balancer: &kafka.RoundRobin{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	return brokers
}

func TestScanLetters(t *testing.T) {
	base := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	brokers := lettersCluster(t, 90, base) // 90 minutes: buckets at 5:00 and 6:00
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	st, err := ScanLetters(ctx, LetterScan{Brokers: brokers, Topic: "dlq", Samples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 90 || st.Kept != 90 || st.StoppedAtMax {
		t.Fatalf("read %d kept %d stopped %v; want 90, 90, false", st.Read, st.Kept, st.StoppedAtMax)
	}
	if got := fmt.Sprint(st.ByReason); got != "[{type_mismatch 60} {invalid_json 30}]" {
		t.Errorf("by reason %s", got)
	}
	if len(st.ByTime) != 2 || st.ByTime[0].Count != 60 || st.ByTime[1].Count != 30 || !st.ByTime[0].Start.Equal(base) || st.ByTime[1].ByReason["type_mismatch"] != 20 {
		t.Errorf("by time %+v; want 60 in the 5:00 bucket, 30 in the 6:00 one", st.ByTime)
	}
	if len(st.BySource) != 1 || st.BySource[0] != (SourceCount{"events", 90}) {
		t.Errorf("by source %+v", st.BySource)
	}
	if len(st.Samples) != 4 || st.First == nil || !st.First.Equal(base) || !st.Last.Equal(base.Add(89*time.Minute)) {
		t.Errorf("%d samples (want 2 per reason), first %v last %v", len(st.Samples), st.First, st.Last)
	}
	for _, l := range st.Samples {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := contracts.Validate(contracts.DeadLetterV1, b); err != nil {
			t.Errorf("sample %s: %v", b, err)
		}
	}

	// Filters and the bound.
	st, err = ScanLetters(ctx, LetterScan{Brokers: brokers, Topic: "dlq", Reasons: []string{"invalid_json"}, Since: base.Add(60 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 90 || st.Kept != 10 {
		t.Errorf("invalid_json since 6:00: read %d kept %d, want 90 and 10", st.Read, st.Kept)
	}
	st, err = ScanLetters(ctx, LetterScan{Brokers: brokers, Topic: "dlq", Max: 25})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 25 || st.Kept != 25 || !st.StoppedAtMax {
		t.Errorf("--max 25: read %d kept %d stopped %v", st.Read, st.Kept, st.StoppedAtMax)
	}
	// An empty topic ends at once.
	st, err = ScanLetters(ctx, LetterScan{Brokers: brokers, Topic: "events"})
	if err != nil || st.Read != 0 {
		t.Errorf("empty topic: %+v, %v", st, err)
	}
	if _, err := ScanLetters(ctx, LetterScan{Brokers: brokers, Topic: "nope"}); err == nil {
		t.Error("a missing topic gave no error")
	}
}

func TestDescribeTopics(t *testing.T) {
	brokers := lettersCluster(t, 10, time.Now())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := Client(nil, brokers, 10*time.Second)
	ts, err := DescribeTopics(ctx, c, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "dlq" || ts[1].Name != "events" {
		t.Fatalf("topics %+v; want dlq and events", ts)
	}
	dlq := ts[0]
	var high int64
	for _, p := range dlq.Partitions {
		high += p.HighWatermark
		if p.Leader < 0 || p.LeaderAddr == "" || len(p.Replicas) != 1 || len(p.ISR) != 1 {
			t.Errorf("partition %+v: want a leader, one replica, one in sync", p)
		}
	}
	if len(dlq.Partitions) != 2 || high != 10 || dlq.Records != 10 {
		t.Errorf("dlq: %d partitions, high watermarks sum %d, records %d; want 2, 10, 10", len(dlq.Partitions), high, dlq.Records)
	}
	if _, err := DescribeTopics(ctx, c, []string{"events", "nope"}, false, false); err == nil || err.Error() != "no such topic: nope (streamscore topics list shows those that exist)" {
		t.Errorf("a missing topic: %v", err)
	}
}
