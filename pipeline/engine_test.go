package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"go.uber.org/goleak"

	"github.com/streamscore/streamscore/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testSpec = `
name: t
version: "1"
id: id
key: user
features:
  - {name: a}
  - {name: b, default: 0.5}
model:
  input: x
  outputs: [{name: y, as: score}]
`

var idPattern = regexp.MustCompile(`"id":"(e\d+)"`)

func mustSpec(t *testing.T) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stream makes n events over parts partitions; every badEvery-th one is not
// JSON and every poisonEvery-th one makes the model fail.
func stream(n, parts, badEvery, poisonEvery int) []schemas.Message {
	var msgs []schemas.Message
	next := make([]int64, parts)
	for i := range n {
		p := i % parts
		user := fmt.Sprintf("u%d", i%13)
		v := fmt.Sprintf(`{"id":"e%d","user":%q,"a":%d,"b":1.25}`, i, user, i)
		switch {
		case badEvery > 0 && i%badEvery == badEvery-1:
			v = `{"id":"e` + fmt.Sprint(i) + `", broken`
		case poisonEvery > 0 && i%poisonEvery == poisonEvery-1:
			v = fmt.Sprintf(`{"id":"e%d","user":%q,"a":999999}`, i, user)
		}
		off := next[p]
		next[p] += 2 // gaps, as compaction leaves
		msgs = append(msgs, schemas.Message{Topic: "in", Partition: p, Offset: off, Prev: off - 2, Key: []byte(user), Value: []byte(v), Time: time.Now()})
	}
	return msgs
}

func newTestEngine(t *testing.T, src Source, sink Sink, mem memory.Allocator) *Engine {
	t.Helper()
	e, err := New(Config{Spec: mustSpec(t), Policy: Policy{MaxRows: 64, MaxBytes: 1 << 20, MaxWait: time.Millisecond}, Mem: mem, DrainTimeout: 200 * time.Millisecond}, src, sumScorer{}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngineScoresEveryEventOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	msgs := stream(5000, 4, 50, 97)
	src := newFakeSource(msgs, false)
	sink := &recordingSink{}
	e := newTestEngine(t, src, sink, mem)
	if err := e.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mem.AssertSize(t, 0)
	// Every batch the batcher handed on was released once acknowledged, so
	// the adaptive batcher sees the stages idle again.
	if busy := e.load.busy.Load(); busy != 0 {
		t.Fatalf("%d batches still counted busy after Run", busy)
	}

	wantDead := map[string]schemas.Reason{}
	for i := range msgs {
		switch {
		case i%50 == 49:
			wantDead[fmt.Sprintf("e%d", i)] = schemas.ReasonInvalidJSON
		case i%97 == 96:
			wantDead[fmt.Sprintf("e%d", i)] = schemas.ReasonModelError
		}
	}
	if got, want := len(sink.scored)+len(sink.dead), len(msgs); got != want {
		t.Fatalf("scored %d + dead %d = %d outcomes, want %d", len(sink.scored), len(sink.dead), got, want)
	}
	if got, want := len(sink.dead), len(wantDead); got != want {
		t.Fatalf("got %d dead letters, want %d", got, want)
	}
	for _, d := range sink.dead {
		id := idPattern.FindStringSubmatch(string(d.Msg.Value))[1]
		if want, ok := wantDead[id]; !ok || want != d.Reason {
			t.Errorf("dead letter %s: reason %s, want %v (listed %v)", id, d.Reason, want, ok)
		}
	}

	seen := map[string]bool{}
	lastA := map[string]float64{}
	for _, m := range sink.scored {
		var ev struct {
			ID        string             `json:"event_id"`
			Key       string             `json:"key"`
			Partition int                `json:"partition"`
			Offset    int64              `json:"offset"`
			Model     string             `json:"model"`
			Version   string             `json:"model_version"`
			Scores    map[string]float64 `json:"scores"`
		}
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("scored event %q: %v", m.Value, err)
		}
		if seen[ev.ID] {
			t.Fatalf("event %s scored twice", ev.ID)
		}
		seen[ev.ID] = true
		var i int
		fmt.Sscanf(ev.ID, "e%d", &i)
		if want := float64(i) + 1.25; ev.Scores["score"] != want {
			t.Fatalf("event %s: score %v, want %v", ev.ID, ev.Scores["score"], want)
		}
		if ev.Model != "sum" || ev.Version != "7" || string(m.Key) != ev.Key {
			t.Fatalf("event %s: model %s/%s key %q (record key %q)", ev.ID, ev.Model, ev.Version, ev.Key, m.Key)
		}
		// Per-key order: within one key, scores grow with the input index.
		if prev, ok := lastA[ev.Key]; ok && ev.Scores["score"] <= prev {
			t.Fatalf("key %s out of order: %v after %v", ev.Key, ev.Scores["score"], prev)
		}
		lastA[ev.Key] = ev.Scores["score"]
	}
	if got := src.ackedCount(); got != len(msgs) {
		t.Fatalf("acked %d messages, want %d", got, len(msgs))
	}
	if e.InFlight() != 0 || e.Completed() != int64(len(msgs)) {
		t.Fatalf("in flight %d, completed %d", e.InFlight(), e.Completed())
	}
}

// TestEngineDrainsOnCancel runs in a synctest bubble: synctest.Wait returns
// once every event is scored and the engine idles, so no wall time passes.
func TestEngineDrainsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		msgs := stream(1000, 2, 0, 0)
		src := newFakeSource(msgs, true)
		sink := &recordingSink{}
		e := newTestEngine(t, src, sink, mem)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		for e.Completed() < int64(len(msgs)) {
			// Each Wait lets the engine run until it blocks; a batch
			// waiting on max_wait blocks on the fake clock, which the
			// next Sleep advances.
			synctest.Wait()
			if e.Completed() < int64(len(msgs)) {
				time.Sleep(time.Millisecond)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run after cancel: %v, want nil", err)
		}
		if got := src.ackedCount(); got != len(msgs) {
			t.Fatalf("acked %d, want %d", got, len(msgs))
		}
		mem.AssertSize(t, 0)
	})
}

// TestEngineDrainTimeoutAcksNothing runs in a synctest bubble: the sink
// blocks until the engine's drain deadline passes on the bubble's clock.
func TestEngineDrainTimeoutAcksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		src := newFakeSource(stream(100, 2, 0, 0), true)
		sink := &recordingSink{block: true}
		e := newTestEngine(t, src, sink, mem)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		// Let batches close (max_wait on the fake clock) and reach the
		// blocked sink before cancelling.
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		if e.InFlight() == 0 {
			t.Fatal("no events in flight before cancel; the sink was never reached")
		}
		cancel()
		err := <-done
		if !errors.Is(err, ErrDrainTimeout) {
			t.Fatalf("Run = %v, want ErrDrainTimeout", err)
		}
		if got := src.ackedCount(); got != 0 {
			t.Fatalf("acked %d messages whose results were never published", got)
		}
		if e.InFlight() == 0 {
			t.Fatalf("in-flight count is 0; the abandoned events were not counted")
		}
		mem.AssertSize(t, 0)
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	src := newFakeSource(nil, false)
	if _, err := New(Config{}, src, sumScorer{}, &recordingSink{}, nil, nil); err == nil {
		t.Fatal("New without a schema succeeded")
	}
	if _, err := New(Config{Spec: mustSpec(t), Policy: Policy{MaxRows: -1}}, src, sumScorer{}, &recordingSink{}, nil, nil); err == nil {
		t.Fatal("New with max_rows -1 succeeded")
	}
}

// TestEngineAsyncPublishesOverlapAndAckEverything runs in a synctest bubble:
// the async sink's random completion delays pass on the bubble's clock.
func TestEngineAsyncPublishesOverlapAndAckEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		msgs := stream(5000, 4, 0, 0)
		src := newFakeSource(msgs, false)
		sink := &asyncSink{}
		e := newTestEngine(t, src, sink, mem)
		if err := e.Run(t.Context()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		mem.AssertSize(t, 0)
		if got := len(sink.scored); got != len(msgs) {
			t.Fatalf("scored %d, want %d (acked %d, dead %d, calls %d)", got, len(msgs), src.ackedCount(), len(sink.dead), sink.calls)
		}
		if got := src.ackedCount(); got != len(msgs) {
			t.Fatalf("acked %d, want %d", got, len(msgs))
		}
		if m := sink.maxInFlight.Load(); m < 2 || m > defaultPublishes {
			t.Fatalf("at most %d publishes were in flight, want 2..%d", m, defaultPublishes)
		}
		if e.InFlight() != 0 {
			t.Fatalf("in flight %d after Run", e.InFlight())
		}
	})
}

// TestEngineArenaReusedOnlyAfterAck: encoded events' memory is recycled
// between batches, never while a publish that holds it is in flight. The
// async sink reads each batch's values only when it completes, after a
// random delay with later batches encoded meanwhile, so an arena reused
// too early would show another event's bytes.
func TestEngineArenaReusedOnlyAfterAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		msgs := stream(5000, 4, 0, 0)
		sink := &asyncSink{}
		e := newTestEngine(t, newFakeSource(msgs, false), sink, memory.NewGoAllocator())
		if err := e.Run(t.Context()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if len(sink.scored) != len(msgs) {
			t.Fatalf("scored %d, want %d", len(sink.scored), len(msgs))
		}
		for i, m := range sink.scored {
			got, want := scoredID.FindSubmatch(m.Value), idPattern.FindSubmatch(m.Origin.Value)
			if got == nil || want == nil || string(got[1]) != string(want[1]) || !json.Valid(m.Value) {
				t.Fatalf("scored event %d of input %s reads %q", i, want, m.Value)
			}
		}
	})
}
