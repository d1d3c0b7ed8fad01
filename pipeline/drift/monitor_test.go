package drift

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/schemas"
)

// metricValue returns the value of the series name with the given labels.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

type monitorEnv struct {
	spec  *schemas.Spec
	base  *Baseline
	clock *fakeClock
	store *MemoryStore
	sink  *MemorySink
	reg   *prometheus.Registry
	mon   *Monitor
	mem   *memory.CheckedAllocator
}

func newMonitorEnv(t *testing.T, cfg Config) *monitorEnv {
	t.Helper()
	spec := testSpec(t)
	e := &monitorEnv{
		base:  testBaseline(t, spec),
		clock: &fakeClock{t: time.UnixMilli(1_699_999_980_000)}, // a minute boundary
		sink:  &MemorySink{},
		reg:   prometheus.NewRegistry(),
		mem:   memory.NewCheckedAllocator(memory.NewGoAllocator()),
	}
	e.spec = spec
	e.store = NewMemoryStore(e.clock.Now)
	cfg.Now = e.clock.Now
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = "a"
	}
	mon, err := NewMonitor(cfg, e.base, spec, e.store, e.sink, nil, e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.mon = mon
	t.Cleanup(func() { e.mem.AssertSize(t, 0) })
	return e
}

func (e *monitorEnv) observe(t *testing.T, version string, rows []row) {
	t.Helper()
	sb := scoredBatch(t, e.spec, e.mem, version, rows)
	e.mon.ObserveBatch(sb)
	sb.Decoded.Release()
}

func (e *monitorEnv) hash(t *testing.T, version, column string, start int64) map[string]int64 {
	t.Helper()
	ns := e.mon.Namespace("m", version)
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	return e.store.hashes[ns.CountsKey(column, start)]
}

func TestMonitorFoldsBatchesIntoBucketKeys(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: 10 * time.Second, Window: 6})
	t0 := e.clock.Now().UnixMilli()
	e.observe(t, "1", []row{
		{x: 10, flag: true, country: "de", spend: -1, score: 0.25},
		{x: 25, flag: false, country: "it", spend: 1, score: 0.75},          // x on an edge: upper bin
		{x: 99, flag: true, spend: 5, missing: true, score: 0.9},            // no country; spend missing
		{x: 60, flag: true, country: "fr", spend: 1, score: 0.1, bad: true}, // not scored: skipped
	})
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		column string
		want   map[string]int64
	}{
		{"_events", map[string]int64{"n": 3}},
		{"x", map[string]int64{"0": 1, "1": 1, "3": 1}},
		{"flag", e.flagWant(t, map[string]int64{"1": 2, "0": 1})},
		{"spend", map[string]int64{"0": 1, "1": 1, "m": 1}},
		{"country", map[string]int64{"0": 1, "2": 1, "m": 1}}, // de, it→other, absent
		{"score", map[string]int64{"0": 1, "1": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.column, func(t *testing.T) {
			got := e.hash(t, "1", tc.column, t0)
			if !mapsEqual(got, tc.want) {
				t.Fatalf("bucket hash = %v, want %v", got, tc.want)
			}
		})
	}
	key := e.mon.Namespace("m", "1").CountsKey("x", t0)
	if !strings.HasPrefix(key, "drift:{m:1:"+e.base.ID()+"}:x:") {
		t.Fatalf("key %q is not namespaced by prefix, model, version and baseline", key)
	}
	if ttl := e.store.TTL(key); ttl != 70*time.Second {
		t.Fatalf("TTL = %s, want window+1 buckets = 70s", ttl)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_observed_events_total", nil); got != 3 {
		t.Fatalf("observed events = %v, want 3", got)
	}

	// A flush sends deltas: a second flush adds only what came since.
	e.clock.Add(3 * time.Second)
	e.observe(t, "1", []row{{x: 10, flag: true, country: "de", score: 0.25}})
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.hash(t, "1", "x", t0); got["0"] != 2 {
		t.Fatalf("after a second flush x = %v, want bin 0 = 2", got)
	}
	// The next bucket gets its own key.
	e.clock.Add(10 * time.Second)
	e.observe(t, "1", []row{{x: 80, flag: true, country: "de", score: 0.25}})
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.hash(t, "1", "x", t0+10_000); !mapsEqual(got, map[string]int64{"3": 1}) {
		t.Fatalf("next bucket x = %v", got)
	}
	st, err := ReadStatus(t.Context(), e.store, e.base, e.mon.Namespace("m", "1"), e.mon.cfg, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 5 || st.Columns[0].Current.Total() != 5 || st.Columns[0].Current.Counts[0] != 2 {
		t.Fatalf("window events %d, x %v; want 5 events, x bin 0 = 2", st.Events, st.Columns[0].Current)
	}
}

// flagWant maps the wanted flag labels ("0", "1") to their vocabulary bins.
func (e *monitorEnv) flagWant(t *testing.T, byLabel map[string]int64) map[string]int64 {
	t.Helper()
	c := e.base.Column("flag")
	out := map[string]int64{}
	for label, n := range byLabel {
		i := slices.Index(c.Categories, label)
		if i < 0 {
			t.Fatalf("flag vocabulary %v lacks %q", c.Categories, label)
		}
		out[string(rune('0'+i))] = n
	}
	return out
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestMonitorKeepsCountsWhileStoreIsDown(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: time.Second, Window: 10, MaxPendingBuckets: 3})
	t0 := e.clock.Now().UnixMilli()
	down := errors.New("connection refused")
	e.store.SetFailing(down)
	// four buckets while the store is down: the oldest is dropped, counted
	for b := range 4 {
		e.observe(t, "1", make([]row, b+1))
		if err := e.mon.Flush(t.Context()); !errors.Is(err, down) {
			t.Fatalf("flush with the store down = %v", err)
		}
		e.clock.Add(time.Second)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_lost_events_total", map[string]string{"reason": "overflow"}); got != 1 {
		t.Fatalf("lost events = %v, want 1 (the first bucket's)", got)
	}
	if got := e.mon.Pending(); got != 2+3+4 {
		t.Fatalf("pending = %d, want 9", got)
	}
	e.store.SetFailing(nil)
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for b := 1; b < 4; b++ {
		if got := e.hash(t, "1", "_events", t0+int64(b)*1000); got["n"] != int64(b+1) {
			t.Fatalf("bucket %d events = %v, want %d", b, got, b+1)
		}
	}
	if got := e.hash(t, "1", "_events", t0); got != nil {
		t.Fatalf("dropped bucket was written: %v", got)
	}
	if e.mon.Pending() != 0 {
		t.Fatalf("pending after recovery = %d", e.mon.Pending())
	}

	// A bucket that fell out of the window while the store was down is
	// dropped, not written, and counted.
	e.store.SetFailing(down)
	e.observe(t, "1", make([]row, 5))
	e.mon.Flush(t.Context())
	e.clock.Add(11 * time.Second)
	e.mon.Flush(t.Context())
	e.store.SetFailing(nil)
	e.observe(t, "1", make([]row, 1))
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_lost_events_total", map[string]string{"reason": "expired"}); got != 5 {
		t.Fatalf("expired events = %v, want 5", got)
	}
}

func TestMonitorSeparatesCanaryVersions(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: time.Second})
	t0 := e.clock.Now().UnixMilli()
	sb := scoredBatch(t, e.spec, e.mem, "1", make([]row, 5))
	sb.Versions = []string{"1", "2", "1", "2", "2"}
	e.mon.ObserveBatch(sb)
	sb.Decoded.Release()
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a, b := e.hash(t, "1", "_events", t0)["n"], e.hash(t, "2", "_events", t0)["n"]; a != 2 || b != 3 {
		t.Fatalf("events per version = %d, %d; want 2, 3", a, b)
	}
}

// evaluate advances through buckets observing rows from gen, evaluating
// after each, and returns the events raised.
func (e *monitorEnv) run(t *testing.T, buckets int, gen func() []row) {
	t.Helper()
	for range buckets {
		e.observe(t, "1", gen())
		if err := e.mon.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.mon.Evaluate(t.Context(), "m", "1"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
}

func eventsFor(evs []Event, feature string) []string {
	var out []string
	for _, e := range evs {
		if e.Feature == feature {
			out = append(out, e.Type)
		}
	}
	return out
}

func TestMonitorRaisesAndClearsDriftWithHysteresis(t *testing.T) {
	e := newMonitorEnv(t, Config{
		Bucket: time.Second, Window: 3, MinEvents: 100,
		Thresholds: Thresholds{Default: map[Score]Threshold{PSI: {Alert: 0.5, Clear: 0.2}}},
	})
	rng := rand.New(rand.NewPCG(3, 4))
	e.run(t, 5, func() []row { return normalRows(rng, 400, 0) })
	if evs := e.sink.Events(); len(evs) != 0 {
		t.Fatalf("events on reference data: %+v", evs)
	}
	// x moves up by half its range: PSI far above 0.5
	e.run(t, 1, func() []row { return normalRows(rng, 400, 50) })
	e.run(t, 1, func() []row { return normalRows(rng, 400, 50) })
	if got := eventsFor(e.sink.Events(), "x"); !slices.Equal(got, []string{EventDetected}) {
		t.Fatalf("x events after the shift = %v, want one drift_detected", got)
	}
	ev := e.sink.Events()[0]
	if ev.Model != "m" || ev.ModelVersion != "1" || ev.Scores["psi"] < 0.5 || !slices.Equal(ev.Alerting, []string{"psi"}) || ev.Thresholds["psi"].Alert != 0.5 {
		t.Fatalf("event = %+v", ev)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_alert", map[string]string{"feature": "x"}); got != 1 {
		t.Fatalf("alert gauge = %v, want 1", got)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_score", map[string]string{"feature": "x", "score": "psi"}); got < 0.5 {
		t.Fatalf("psi gauge = %v, want ≥ 0.5", got)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_threshold", map[string]string{"feature": "x", "score": "psi"}); got != 0.5 {
		t.Fatalf("psi threshold gauge = %v, want 0.5", got)
	}
	// Other columns stay quiet.
	for _, ev := range e.sink.Events() {
		if ev.Feature != "x" {
			t.Fatalf("event for an unchanged column: %+v", ev)
		}
	}
	// A small shift keeps PSI between clear and alert: still in drift, no
	// new event.
	e.run(t, 4, func() []row { return normalRows(rng, 400, 15) })
	st, _ := e.mon.Evaluate(t.Context(), "m", "1")
	if psi := st.Columns[0].Scores[PSI]; psi < 0.2 || psi >= 0.5 {
		t.Fatalf("test setup: PSI with a small shift = %v, want within [0.2, 0.5)", psi)
	}
	if got := eventsFor(e.sink.Events(), "x"); len(got) != 1 {
		t.Fatalf("x events inside the hysteresis band = %v, want still one", got)
	}
	// Back to the reference: cleared once the window holds only it.
	e.run(t, 4, func() []row { return normalRows(rng, 400, 0) })
	if got := eventsFor(e.sink.Events(), "x"); !slices.Equal(got, []string{EventDetected, EventCleared}) {
		t.Fatalf("x events after the return = %v, want detected, cleared", got)
	}
	if got := metricValue(t, e.reg, "streamscore_drift_alert", map[string]string{"feature": "x"}); got != 0 {
		t.Fatalf("alert gauge = %v, want 0", got)
	}
	hist, err := e.store.History(t.Context(), e.mon.Namespace("m", "1"))
	if err != nil || len(hist) != 16 {
		t.Fatalf("history has %d points (%v), want one per evaluation", len(hist), err)
	}
}

func TestOnlyTheLeaseHolderRaisesEvents(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: time.Second, Window: 2, MinEvents: 10})
	other, err := NewMonitor(Config{Bucket: time.Second, Window: 2, MinEvents: 10, Now: e.clock.Now, ReplicaID: "b"}, e.base, e.spec, e.store, e.sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 3 {
		for _, m := range []*Monitor{e.mon, other} {
			sb := scoredBatch(t, e.spec, e.mem, "1", normalRows(rng, 200, 60))
			m.ObserveBatch(sb)
			sb.Decoded.Release()
			if err := m.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		sa, err := e.mon.Evaluate(t.Context(), "m", "1")
		if err != nil {
			t.Fatal(err)
		}
		sb, err := other.Evaluate(t.Context(), "m", "1")
		if err != nil {
			t.Fatal(err)
		}
		if !sa.Leader || sb.Leader {
			t.Fatalf("leaders: a %v, b %v; want a only", sa.Leader, sb.Leader)
		}
		if sa.Events != sb.Events {
			t.Fatalf("replicas see different windows: %d vs %d", sa.Events, sb.Events)
		}
		e.clock.Add(time.Second)
	}
	if got := eventsFor(e.sink.Events(), "x"); len(got) != 1 {
		t.Fatalf("x events with two replicas = %v, want exactly one", got)
	}
	// A replica that starts later (a restart) sees the stored state and
	// raises nothing new once it leads.
	e.clock.Add(time.Minute) // the lease lapses
	restarted, err := NewMonitor(Config{Bucket: time.Second, Window: 2, MinEvents: 10, Now: e.clock.Now, ReplicaID: "c"}, e.base, e.spec, e.store, e.sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sb := scoredBatch(t, e.spec, e.mem, "1", normalRows(rng, 200, 60))
		restarted.ObserveBatch(sb)
		sb.Decoded.Release()
		restarted.Flush(t.Context())
		st, err := restarted.Evaluate(t.Context(), "m", "1")
		if err != nil || !st.Leader || !st.Columns[0].State.Drift {
			t.Fatalf("restarted replica: leader %v, x drift %v, err %v", st.Leader, st.Columns[0].State.Drift, err)
		}
		e.clock.Add(time.Second)
	}
	if got := eventsFor(e.sink.Events(), "x"); len(got) != 1 {
		t.Fatalf("x events after a restart = %v, want still one", got)
	}
}

func TestFailedPublishIsRetried(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: time.Second, Window: 2, MinEvents: 10})
	rng := rand.New(rand.NewPCG(7, 8))
	e.sink.SetFailing(errors.New("broker down"))
	e.observe(t, "1", normalRows(rng, 300, 60))
	e.mon.Flush(t.Context())
	if _, err := e.mon.Evaluate(t.Context(), "m", "1"); err == nil {
		t.Fatal("Evaluate with a failing sink succeeded")
	}
	states, _ := e.store.States(t.Context(), e.mon.Namespace("m", "1"))
	if states["x"].Drift {
		t.Fatal("state stored before the event was published")
	}
	e.sink.SetFailing(nil)
	if _, err := e.mon.Evaluate(t.Context(), "m", "1"); err != nil {
		t.Fatal(err)
	}
	if got := eventsFor(e.sink.Events(), "x"); len(got) != 1 {
		t.Fatalf("x events after the retry = %v, want one", got)
	}
}

func TestRunFlushesOnItsIntervalAndAtTheEnd(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: time.Minute, FlushInterval: time.Minute, EvaluateInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.mon.Run(ctx) }()
	e.observe(t, "1", make([]row, 7))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.hash(t, "1", "_events", e.clock.Now().UnixMilli())["n"]; got != 7 {
		t.Fatalf("events flushed at the end = %d, want 7", got)
	}
}

func TestNewMonitorRejectsABaselineForAnotherSchema(t *testing.T) {
	spec := testSpec(t)
	base := testBaseline(t, spec)
	base.Columns[0].Name = "nope"
	_, err := NewMonitor(Config{}, base, spec, NewMemoryStore(nil), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("NewMonitor = %v, want an error naming the column", err)
	}
}

// hookStore fails every Add after calling during, which runs while the
// flush is in flight.
type hookStore struct {
	*MemoryStore
	during func()
}

func (h *hookStore) Add(context.Context, []BucketCounts, time.Duration) error {
	if h.during != nil {
		h.during()
	}
	return errors.New("connection reset")
}

func TestRestoreKeepsTheNewestBuckets(t *testing.T) {
	e := newMonitorEnv(t, Config{Bucket: time.Second, Window: 10, MaxPendingBuckets: 2})
	hs := &hookStore{MemoryStore: e.store}
	reg := prometheus.NewRegistry()
	mon, err := NewMonitor(Config{Bucket: time.Second, Window: 10, MaxPendingBuckets: 2, Now: e.clock.Now}, e.base, e.spec, hs, nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	observe := func(n int) {
		sb := scoredBatch(t, e.spec, e.mem, "1", make([]row, n))
		mon.ObserveBatch(sb)
		sb.Decoded.Release()
	}
	observe(1) // bucket 0
	e.clock.Add(time.Second)
	observe(2) // bucket 1
	e.clock.Add(time.Second)
	// While the flush of buckets 0 and 1 fails, bucket 2 arrives: the
	// newest two (1 and 2) are kept, bucket 0 is lost.
	hs.during = func() { observe(4) }
	if err := mon.Flush(t.Context()); err == nil {
		t.Fatal("flush succeeded")
	}
	if got := mon.Pending(); got != 2+4 {
		t.Fatalf("pending events = %d, want 6 (buckets 1 and 2)", got)
	}
	if got := metricValue(t, reg, "streamscore_drift_lost_events_total", map[string]string{"reason": "overflow"}); got != 1 {
		t.Fatalf("lost = %v, want bucket 0's 1 event", got)
	}
}
