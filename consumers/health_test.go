package consumers

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type healthFixture struct {
	h      *Health
	g      *Group
	clock  *fakeClock
	client *kafka.Client
	logs   *bytes.Buffer
	addrs  []string
}

func newHealthFixture(t *testing.T, topics ...string) *healthFixture {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	g, err := New(Config{Brokers: c.ListenAddrs(), GroupID: "g", Topic: "in"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &kafka.Client{Addr: kafka.TCP(c.ListenAddrs()...), Timeout: 10 * time.Second}
	logs := &bytes.Buffer{}
	h := NewHealth(HealthConfig{StallAfter: time.Minute, FailAfter: 5 * time.Minute}, client, g, []string{"out", "dlq", ""}, slog.New(slog.NewTextHandler(logs, nil)), nil)
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	h.now = clock.now
	return &healthFixture{h: h, g: g, clock: clock, client: client, logs: logs, addrs: c.ListenAddrs()}
}

func (f *healthFixture) check(t *testing.T) {
	t.Helper()
	f.h.Check(t.Context())
}

func wantReady(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("Ready() = %v, want nil", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("Ready() = %v, want an error containing %q", err, want)
	}
}

func TestHealthMissingTopics(t *testing.T) {
	f := newHealthFixture(t, "in")
	f.g.ready.Store(true)
	f.check(t)
	wantReady(t, f.h.Ready(), "topic dlq, out does not exist (create it with `streamscore topics create`)")

	f = newHealthFixture(t, "out", "dlq")
	f.g.ready.Store(true)
	for range 3 { // 0 s, 10 s, 20 s: logged once
		f.check(t)
		f.clock.add(10 * time.Second)
	}
	wantReady(t, f.h.Ready(), "topic in does not exist")
	if n := strings.Count(f.logs.String(), "level=ERROR msg=\"the input topic does not exist"); n != 1 {
		t.Fatalf("missing input topic logged %d times in 20 s, want 1:\n%s", n, f.logs)
	}
	f.clock.add(10 * time.Second)
	f.check(t) // 30 s
	if n := strings.Count(f.logs.String(), "the input topic does not exist"); n != 2 {
		t.Fatalf("missing input topic logged %d times in 30 s, want 2", n)
	}

	// Created: ready.
	res, err := f.client.CreateTopics(t.Context(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "in", NumPartitions: 2, ReplicationFactor: 1}}})
	if err != nil || res.Errors["in"] != nil {
		t.Fatalf("creating in: %v %v", err, res.Errors)
	}
	f.check(t)
	wantReady(t, f.h.Ready(), "")
}

func TestHealthStall(t *testing.T) {
	f := newHealthFixture(t, "in", "out", "dlq")
	f.check(t)
	wantReady(t, f.h.Ready(), "waiting for a partition assignment")
	f.g.ready.Store(true)
	f.g.owned = map[int]bool{0: true, 1: true}

	// Idle for ten minutes with nothing to do is no stall.
	f.clock.add(10 * time.Minute)
	f.check(t)
	wantReady(t, f.h.Ready(), "")

	w := &kafka.Writer{Addr: kafka.TCP(f.addrs...), Topic: "in", Balancer: &kafka.RoundRobin{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	for range 10 {
		if err := w.WriteMessages(t.Context(), kafka.Message{Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	f.check(t)
	if got := testutil.ToFloat64(f.g.m.lag.WithLabelValues("in", "0")) + testutil.ToFloat64(f.g.m.lag.WithLabelValues("in", "1")); got != 10 {
		t.Fatalf("lag gauges sum to %v, want 10", got)
	}
	wantReady(t, f.h.Ready(), "")
	f.clock.add(59 * time.Second)
	f.check(t)
	wantReady(t, f.h.Ready(), "")
	f.clock.add(time.Second)
	f.check(t)
	wantReady(t, f.h.Ready(), "stalled: committed offsets have not advanced for 1m0s while 10 records wait")
	if v := testutil.ToFloat64(f.h.stalled); v != 1 {
		t.Fatalf("streamscore_stalled = %v, want 1", v)
	}
	if err := f.h.Healthy(); err != nil {
		t.Fatalf("Healthy() = %v after a 1 min stall, want nil", err)
	}
	f.clock.add(4 * time.Minute)
	f.check(t)
	if err := f.h.Healthy(); err == nil || !strings.Contains(err.Error(), "stalled for 5m0s") {
		t.Fatalf("Healthy() = %v after a 5 min stall, want an error", err)
	}
	if v := testutil.ToFloat64(f.h.age); v != 900 { // ten idle minutes, then five stalled
		t.Fatalf("streamscore_last_commit_age_seconds = %v, want 900", v)
	}

	// Commits advance: ready and healthy again.
	_, err := f.client.OffsetCommit(t.Context(), &kafka.OffsetCommitRequest{GroupID: "g", GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{"in": {{Partition: 0, Offset: 5}, {Partition: 1, Offset: 5}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(time.Second)
	f.check(t)
	wantReady(t, f.h.Ready(), "")
	if err := f.h.Healthy(); err != nil {
		t.Fatalf("Healthy() = %v after commits advanced", err)
	}
	if v := testutil.ToFloat64(f.h.stalled); v != 0 {
		t.Fatalf("streamscore_stalled = %v, want 0", v)
	}
	if v := testutil.ToFloat64(f.h.age); v != 0 {
		t.Fatalf("streamscore_last_commit_age_seconds = %v, want 0", v)
	}
}

func TestHealthBrokerDown(t *testing.T) {
	f := newHealthFixture(t, "in", "out", "dlq")
	f.client.Addr = kafka.TCP("127.0.0.1:1")
	f.client.Timeout = time.Second
	f.check(t)
	wantReady(t, f.h.Ready(), "no Kafka broker answers")
}

func TestHealthConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  HealthConfig
		want string
	}{
		{HealthConfig{}, ""},
		{HealthConfig{StallAfter: 10 * time.Minute}, "health.fail_after"},
		{HealthConfig{StallAfter: time.Second}, "health.interval"},
		{HealthConfig{FailAfter: -1}, "health:"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestHealthOneStuckPartitionIsAStall(t *testing.T) {
	f := newHealthFixture(t, "in", "out", "dlq")
	f.g.ready.Store(true)
	f.g.owned = map[int]bool{0: true, 1: true}
	w := &kafka.Writer{Addr: kafka.TCP(f.addrs...), Topic: "in", Balancer: &kafka.RoundRobin{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	for range 20 {
		if err := w.WriteMessages(t.Context(), kafka.Message{Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	f.check(t)
	// Partition 0 commits a record every 20 s; partition 1 never does.
	for i := int64(1); i <= 4; i++ {
		f.clock.add(20 * time.Second)
		if _, err := f.client.OffsetCommit(t.Context(), &kafka.OffsetCommitRequest{GroupID: "g", GenerationID: -1,
			Topics: map[string][]kafka.OffsetCommit{"in": {{Partition: 0, Offset: i}}}}); err != nil {
			t.Fatal(err)
		}
		f.check(t)
	}
	wantReady(t, f.h.Ready(), "(partition 1 of in)")
	if v := testutil.ToFloat64(f.h.stalled); v != 1 {
		t.Fatalf("streamscore_stalled = %v, want 1", v)
	}
	if v := testutil.ToFloat64(f.h.age); v != 0 {
		t.Fatalf("streamscore_last_commit_age_seconds = %v, want 0 (partition 0 commits)", v)
	}
}
