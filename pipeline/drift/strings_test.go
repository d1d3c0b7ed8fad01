package drift

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/schemas"
)

// typedSpecYAML feeds a model typed inputs: a number, an int, two string
// categoricals (country with a default, device required) and an embedding.
const typedSpecYAML = `
name: shop
version: "1"
id: id
key: user
features:
  - {name: amount}
  - {name: n_items, type: int64}
  - {name: country, type: string, default_string: "??"}
  - {name: device, type: string}
  - {name: emb, length: 3}
model: {outputs: [{name: label}]}
`

func typedSpec(t testing.TB) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(typedSpecYAML))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// shopRow is one event of typedSpec; an empty country is left out.
type shopRow struct {
	amount  float64
	items   int
	country string
	device  string
}

func (r shopRow) json(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"id":"e%d","user":"u%d","amount":%g,"n_items":%d,"device":%q,"emb":[1,2,3]`, i, i, r.amount, r.items, r.device)
	if r.country != "" {
		fmt.Fprintf(&b, `,"country":%q`, r.country)
	}
	b.WriteString("}")
	return b.String()
}

// shopRows returns n rows drawn from countries and devices by weight.
func shopRows(rng *rand.Rand, n int, countries map[string]int) []shopRow {
	var pool []string
	for _, c := range slices.Sorted(func(yield func(string) bool) {
		for k := range countries {
			if !yield(k) {
				return
			}
		}
	}) {
		for range countries[c] {
			pool = append(pool, c)
		}
	}
	out := make([]shopRow, n)
	for i := range out {
		out[i] = shopRow{amount: float64(rng.IntN(100)), items: rng.IntN(5), country: pool[rng.IntN(len(pool))], device: []string{"ios", "android", "web"}[i%3]}
	}
	return out
}

var refCountries = map[string]int{"de": 5, "fr": 3, "it": 2}

// typedBaseline builds the baseline of typedSpec from a JSONL training file
// with the reference mix of countries.
func typedBaseline(t *testing.T, spec *schemas.Spec) *Baseline {
	t.Helper()
	rows := shopRows(rand.New(rand.NewPCG(1, 1)), 2000, refCountries)
	var lines []string
	for i, r := range rows {
		lines = append(lines, r.json(i))
	}
	path := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return buildFromSpec(t, spec, path)
}

func buildFromSpec(t *testing.T, spec *schemas.Spec, path string) *Baseline {
	t.Helper()
	cols, err := PlanColumns(spec, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(cols, BuilderConfig{Bins: 4})
	if err != nil {
		t.Fatal(err)
	}
	r := NewTrainingReader(spec, cols)
	for pass := range 2 {
		if _, err := r.ReadFile(t.Context(), path, func(tb *TrainingBatch) error {
			if len(tb.Inputs) != tb.Rows*spec.Columns() {
				t.Fatalf("model inputs hold %d values for %d rows of %d matrix columns", len(tb.Inputs), tb.Rows, spec.Columns())
			}
			if pass == 0 {
				return b.Sample(&tb.Batch)
			}
			return b.Count(&tb.Batch)
		}); err != nil {
			t.Fatal(err)
		}
		b.Freeze()
	}
	base := b.Baseline(spec.String(), []string{path}, 0)
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	return base
}

func TestStringFeatureBaselineFromTypedTrainingFile(t *testing.T) {
	spec := typedSpec(t)
	lines := []string{
		`{"id":"1","amount":1,"n_items":1,"country":"de","device":"ios","emb":[0,0,0]}`,
		`{"id":"2","amount":2,"n_items":2,"country":"de","device":"web","emb":[0,0,0]}`,
		`{"id":"3","amount":3,"n_items":3,"country":"fr","device":"ios","emb":[0,0,0]}`,
		`{"id":"4","amount":4,"n_items":4,"device":"ios","emb":[0,0,0]}`,                // country absent: its default
		`{"id":"5","amount":5,"n_items":5,"country":null,"device":"ios","emb":[0,0,0]}`, // null: its default
		`{"id":"6","amount":6,"n_items":6,"country":"de","emb":[0,0,0]}`,                // device required and absent: missing
	}
	path := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := buildFromSpec(t, spec, path)
	var names []string
	for _, c := range base.Columns {
		names = append(names, c.Name+":"+string(c.Kind))
	}
	// The embedding is not watched; strings are categorical.
	if want := []string{"amount:numeric", "n_items:numeric", "country:categorical", "device:categorical"}; !slices.Equal(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	tests := []struct {
		col                string
		cats               []string
		counts             []int64
		missing, defaulted int64
	}{
		{"country", []string{"de", "??", "fr"}, []int64{3, 2, 1, 0}, 0, 2},
		{"device", []string{"ios", "web"}, []int64{4, 1, 0}, 1, 0},
	}
	for _, tc := range tests {
		c := base.Column(tc.col)
		if !slices.Equal(c.Categories, tc.cats) || !slices.Equal(c.Counts, tc.counts) || c.Missing != tc.missing || c.Defaulted != tc.defaulted {
			t.Errorf("%s: categories %v counts %v missing %d defaulted %d; want %v %v %d %d",
				tc.col, c.Categories, c.Counts, c.Missing, c.Defaulted, tc.cats, tc.counts, tc.missing, tc.defaulted)
		}
	}
}

func TestPlanColumnsRefusesACategoricalArray(t *testing.T) {
	_, err := PlanColumns(typedSpec(t), PlanOptions{Categorical: []string{"emb"}})
	if err == nil || !strings.Contains(err.Error(), "array feature") {
		t.Fatalf("PlanColumns = %v, want an error naming the array feature", err)
	}
}

type typedEnv struct {
	spec  *schemas.Spec
	base  *Baseline
	clock *fakeClock
	store *MemoryStore
	sink  *MemorySink
	reg   *prometheus.Registry
	mon   *Monitor
	mem   *memory.CheckedAllocator
}

func newTypedEnv(t *testing.T, cfg Config) *typedEnv {
	t.Helper()
	spec := typedSpec(t)
	e := &typedEnv{
		spec: spec, base: typedBaseline(t, spec),
		clock: &fakeClock{t: time.UnixMilli(1_699_999_980_000)},
		sink:  &MemorySink{}, reg: prometheus.NewRegistry(),
		mem: memory.NewCheckedAllocator(memory.NewGoAllocator()),
	}
	e.store = NewMemoryStore(e.clock.Now)
	cfg.Now, cfg.ReplicaID = e.clock.Now, "a"
	mon, err := NewMonitor(cfg, e.base, spec, e.store, e.sink, nil, e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.mon = mon
	t.Cleanup(func() { e.mem.AssertSize(t, 0) })
	return e
}

func (e *typedEnv) observe(t *testing.T, rows []shopRow) {
	t.Helper()
	msgs := make([]schemas.Message, len(rows))
	for i, r := range rows {
		msgs[i] = schemas.Message{Value: []byte(r.json(i)), Offset: int64(i), Time: time.UnixMilli(0)}
	}
	d := schemas.NewDecoder(e.spec, e.mem).Decode(msgs)
	defer d.Release()
	if len(d.Errors) > 0 {
		t.Fatalf("decoding test rows: %+v", d.Errors[0])
	}
	e.mon.ObserveBatch(&schemas.ScoredBatch{Msgs: msgs, Decoded: d, Model: "m", ModelVersion: "1"})
}

func (e *typedEnv) run(t *testing.T, buckets int, gen func() []shopRow) *Status {
	t.Helper()
	var st *Status
	for range buckets {
		e.observe(t, gen())
		if err := e.mon.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		var err error
		if st, err = e.mon.Evaluate(t.Context(), "m", "1"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
	return st
}

func TestUnseenCategoryCountsAsOther(t *testing.T) {
	e := newTypedEnv(t, Config{Bucket: 10 * time.Second, Window: 6})
	t0 := e.clock.Now().UnixMilli()
	e.observe(t, []shopRow{
		{country: "de", device: "ios"},
		{country: "fr", device: "web"},
		{country: "zz", device: "ios"},     // never seen in training
		{country: "", device: "smart-tv"},  // absent: the default "??", also never seen
		{country: "de", device: "android"}, //
	})
	if err := e.mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ns := e.mon.Namespace("m", "1")
	c := e.base.Column("country")
	other := fmt.Sprint(len(c.Categories))
	de, fr := fmt.Sprint(slices.Index(c.Categories, "de")), fmt.Sprint(slices.Index(c.Categories, "fr"))
	e.store.mu.Lock()
	got := e.store.hashes[ns.CountsKey("country", t0)]
	dev := e.store.hashes[ns.CountsKey("device", t0)]
	e.store.mu.Unlock()
	if want := map[string]int64{de: 2, fr: 1, other: 2}; !mapsEqual(got, want) {
		t.Fatalf("country bucket = %v, want %v (vocabulary %v)", got, want, c.Categories)
	}
	if sum := dev["0"] + dev["1"] + dev["2"] + dev[fmt.Sprint(len(e.base.Column("device").Categories))]; sum != 5 {
		t.Fatalf("device bucket = %v, want 5 values counted", dev)
	}
	if c.Label(len(c.Categories)) != OtherLabel {
		t.Fatalf("last bin label %q", c.Label(len(c.Categories)))
	}
}

func TestStringVocabularyShiftAlertsByChiSquared(t *testing.T) {
	e := newTypedEnv(t, Config{
		Bucket: time.Second, Window: 3, MinEvents: 100,
		Thresholds: Thresholds{Default: map[Score]Threshold{}, Columns: map[string]ColumnThresholds{
			"country": {Scores: map[Score]Threshold{ChiSquaredP: {Alert: 0.001, Clear: 0.05}}},
		}},
	})
	rng := rand.New(rand.NewPCG(5, 6))
	st := e.run(t, 4, func() []shopRow { return shopRows(rng, 400, refCountries) })
	if evs := e.sink.Events(); len(evs) != 0 {
		t.Fatalf("events on reference data: %+v", evs)
	}
	if p := st.Columns[slices.IndexFunc(st.Columns, func(c ColumnStatus) bool { return c.Column.Name == "country" })].Scores[ChiSquaredP]; p <= 0.001 {
		t.Fatalf("chi-squared p on reference data = %v, want > 0.001", p)
	}
	// Italy takes over and a new market appears.
	shift := map[string]int{"de": 2, "fr": 1, "it": 5, "es": 2}
	st = e.run(t, 2, func() []shopRow { return shopRows(rng, 400, shift) })
	if got := eventsFor(e.sink.Events(), "country"); !slices.Equal(got, []string{EventDetected}) {
		t.Fatalf("country events after the shift = %v, want one drift_detected", got)
	}
	ev := e.sink.Events()[0]
	if !slices.Equal(ev.Alerting, []string{"chi2_p"}) || ev.Scores["chi2_p"] > 0.001 {
		t.Fatalf("event = %+v", ev)
	}
	var cs *ColumnStatus
	for i := range st.Columns {
		if st.Columns[i].Column.Name == "country" {
			cs = &st.Columns[i]
		}
	}
	if other := cs.Current.Counts[len(cs.Column.Categories)]; other == 0 {
		t.Fatalf("no value in the other bin after es appeared: %v", cs.Current.Counts)
	}
	for _, ev := range e.sink.Events() {
		if ev.Feature != "country" {
			t.Fatalf("event for an unchanged column: %+v", ev)
		}
	}

	// The report and the table show the column by its categories.
	var page, table bytes.Buffer
	if err := WriteReport(&page, st, ReportOptions{Generated: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&table, st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-feature="country"`, ">de<", ">it<", OtherLabel, "chi"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !strings.Contains(table.String(), "country") || !strings.Contains(table.String(), "DRIFT") {
		t.Errorf("table lacks the drifting country column:\n%s", table.String())
	}
}

// setStringSpecYAML reads segment, a string, from a feature set.
const setStringSpecYAML = `
name: seg
version: "1"
id: id
key: user
features:
  - {name: amount}
feature_sets:
  - name: profile
    layout: hash
    key: "p:{user}"
    features: [{name: segment, type: string, default_string: none}]
model: {outputs: [{name: label}]}
`

func TestFeatureSetStringFeature(t *testing.T) {
	spec, err := schemas.Parse([]byte(setStringSpecYAML))
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		`{"id":"1","amount":1,"segment":"gold"}`,
		`{"id":"2","amount":2,"segment":"gold"}`,
		`{"id":"3","amount":3,"segment":"silver"}`,
		`{"id":"4","amount":4}`, // the entity was missing: missing, not the default
	}
	path := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := buildFromSpec(t, spec, path)
	c := base.Column("segment")
	if c == nil || c.Kind != Categorical || !slices.Equal(c.Categories, []string{"gold", "silver"}) || !slices.Equal(c.Counts, []int64{2, 1, 0}) || c.Missing != 1 {
		t.Fatalf("segment column %+v: want categorical gold 2, silver 1, 1 missing", c)
	}

	clock := &fakeClock{t: time.UnixMilli(1_699_999_980_000)}
	store := NewMemoryStore(clock.Now)
	mon, err := NewMonitor(Config{Bucket: 10 * time.Second, Window: 6, Now: clock.Now, ReplicaID: "a"}, base, spec, store, &MemorySink{}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := make([]schemas.Message, 4)
	for i := range msgs {
		msgs[i] = schemas.Message{Value: []byte(fmt.Sprintf(`{"id":"%d","user":"u%d","amount":1}`, i, i))}
	}
	d := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer d.Release()
	// What the feature store wrote: gold, a new segment, and two rows
	// scored with defaults because their entities could not be read.
	if err := d.SetStrings(schemas.ColFeaturePrefix+"segment", []string{"gold", "bronze", "none", "none"}); err != nil {
		t.Fatal(err)
	}
	mon.ObserveBatch(&schemas.ScoredBatch{Msgs: msgs, Decoded: d, Model: "m", ModelVersion: "1", FeaturesMissing: []bool{false, false, true, true}})
	if err := mon.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	got := store.hashes[mon.Namespace("m", "1").CountsKey("segment", clock.Now().UnixMilli())]
	store.mu.Unlock()
	if want := map[string]int64{"0": 1, "2": 1, "m": 2}; !mapsEqual(got, want) {
		t.Fatalf("segment bucket = %v, want %v (gold, bronze under other, two missing)", got, want)
	}
}
