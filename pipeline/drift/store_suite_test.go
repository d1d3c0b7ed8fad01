package drift

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// storeHarness is what the conformance suite needs besides the Store: a
// way to let time pass and to read a key's time to live.
type storeHarness struct {
	store Store
	// wait lets d pass for the store's expiry.
	wait func(d time.Duration)
	// ttl returns a key's time to live (0 if the key does not exist).
	ttl func(key string) time.Duration
	// ns is a namespace no other run of the suite uses.
	ns Namespace
}

// testStoreConformance is the behaviour every Store must have; it runs
// against MemoryStore in unit tests and against Redis in integration tests.
func testStoreConformance(t *testing.T, h storeHarness) {
	ctx := t.Context()
	cols := []Column{
		{Name: "a", Kind: Numeric, Edges: []float64{0, 1}},
		{Name: "b", Kind: Categorical, Categories: []string{"x"}},
	}
	names := []string{"a", "b"}
	ns := h.ns
	const start = int64(1_700_000_000_000)

	t.Run("add accumulates and read returns zeros where nothing was written", func(t *testing.T) {
		add := func(events int64, a, b Histogram) {
			t.Helper()
			err := h.store.Add(ctx, []BucketCounts{{NS: ns, Start: start, Events: events, Names: names, Columns: []Histogram{a, b}}}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
		}
		add(3, Histogram{Counts: []int64{1, 0, 2}}, Histogram{Counts: []int64{2, 0}, Missing: 1})
		add(2, Histogram{Counts: []int64{0, 1, 0}, Missing: 1}, Histogram{Counts: []int64{1, 1}})
		got, err := h.store.Read(ctx, ns, cols, []int64{start - 1000, start})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Events != 0 || got[0].Columns[0].Total() != 0 || got[0].Columns[1].Total() != 0 {
			t.Fatalf("empty bucket = %+v", got[0])
		}
		b := got[1]
		want := fmt.Sprint([]Histogram{{Counts: []int64{1, 1, 2}, Missing: 1}, {Counts: []int64{3, 1}, Missing: 1}})
		if b.Events != 5 || fmt.Sprint(b.Columns) != want || b.Start != start || b.Names[1] != "b" {
			t.Fatalf("bucket = events %d %v, want 5 %s", b.Events, b.Columns, want)
		}
		for _, k := range []string{ns.CountsKey("a", start), ns.EventsKey(start)} {
			if d := h.ttl(k); d <= 50*time.Second || d > time.Minute {
				t.Fatalf("TTL of %s = %s, want about 1m", k, d)
			}
		}
		// a reader with fewer bins ignores the others
		short := []Column{{Name: "a", Kind: Numeric, Edges: []float64{0}}}
		got, err = h.store.Read(ctx, ns, short, []int64{start})
		if err != nil || fmt.Sprint(got[0].Columns[0]) != fmt.Sprint(Histogram{Counts: []int64{1, 1}, Missing: 1}) {
			t.Fatalf("read with fewer bins = %v, %v", got[0].Columns, err)
		}
	})

	t.Run("keys expire", func(t *testing.T) {
		s2 := start + 60_000
		if err := h.store.Add(ctx, []BucketCounts{{NS: ns, Start: s2, Events: 1, Names: names, Columns: []Histogram{{Counts: []int64{1, 0, 0}}, {Counts: []int64{1, 0}}}}}, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		h.wait(600 * time.Millisecond)
		got, err := h.store.Read(ctx, ns, cols, []int64{s2})
		if err != nil || got[0].Events != 0 || got[0].Columns[0].Total() != 0 {
			t.Fatalf("expired bucket = %+v, %v", got[0], err)
		}
	})

	t.Run("one lease holder at a time", func(t *testing.T) {
		ok, err := h.store.Lead(ctx, ns, "a", 400*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("a takes a free lease: %v, %v", ok, err)
		}
		if ok, err := h.store.Lead(ctx, ns, "b", 400*time.Millisecond); err != nil || ok {
			t.Fatalf("b takes a's lease: %v, %v", ok, err)
		}
		if ok, err := h.store.Lead(ctx, ns, "a", 400*time.Millisecond); err != nil || !ok {
			t.Fatalf("a renews: %v, %v", ok, err)
		}
		h.wait(800 * time.Millisecond)
		if ok, err := h.store.Lead(ctx, ns, "b", time.Second); err != nil || !ok {
			t.Fatalf("b takes the lapsed lease: %v, %v", ok, err)
		}
	})

	t.Run("states", func(t *testing.T) {
		st := ColumnState{Drift: true, Alerting: []string{"psi"}, Since: 42}
		if err := h.store.SetState(ctx, ns, "a", st); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.States(ctx, ns)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(map[string]ColumnState{"a": st}) {
			t.Fatalf("states = %v, %v", got, err)
		}
	})

	t.Run("history keeps the newest points", func(t *testing.T) {
		for i := range 5 {
			sc := NaNScores()
			sc[PSI] = float64(i) / 10
			sc[ChiSquared] = math.Inf(1)
			p := HistoryPoint{At: int64(i), Events: int64(10 * i), Scores: map[string]Scores{"a": sc}}
			if err := h.store.AppendHistory(ctx, ns, p, 3, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.store.History(ctx, ns)
		if err != nil || len(got) != 3 || got[0].At != 2 || got[2].At != 4 || got[2].Scores["a"][PSI] != 0.4 || !math.IsNaN(got[2].Scores["a"][KS]) {
			t.Fatalf("history = %+v, %v", got, err)
		}
	})
}

func TestMemoryStoreConformance(t *testing.T) {
	clock := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	s := NewMemoryStore(clock.Now)
	testStoreConformance(t, storeHarness{store: s, wait: clock.Add, ttl: s.TTL, ns: Namespace{Prefix: "t", Model: "m", Version: "1", Baseline: "b"}})
}
