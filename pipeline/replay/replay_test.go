package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"go.uber.org/goleak"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testSpec = `
name: backtest
version: "1"
id: id
key: user
event_time: ts
features:
  - {name: f0}
  - {name: f1}
passthrough: [merchant]
model: {input: x, outputs: [{name: p, as: score}]}
`

func parseSpec(t *testing.T, y string) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sigmoidScorer scores a row as sigmoid(feature col), in float32 as a
// model would.
type sigmoidScorer struct {
	col     int
	version string
}

func (s sigmoidScorer) Name() string    { return "sigmoid" }
func (s sigmoidScorer) Version() string { return s.version }
func (s sigmoidScorer) Score(_ context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	out := schemas.Scores{Name: "score", Width: 1, Bits: 32, Values: make([]float64, in.Rows)}
	for r := range in.Rows {
		x := float64(in.Features[r*in.Cols+s.col])
		out.Values[r] = float64(float32(1 / (1 + math.Exp(-x))))
	}
	return pipeline.ScoreResult{Scores: []schemas.Scores{out}, Model: "sigmoid", Version: s.version}, nil
}

// testEvent is one generated event and what the test knows of it.
type testEvent struct {
	id      string
	user    string
	ts      int64
	f0, f1  float32
	label   float64 // NaN: none
	bad     bool    // not decodable
	rawLine string
}

// makeEvents returns n events, one in 50 malformed and one in 40 without a
// label, with features kept away from 0 so sigmoid ≥ 0.5 is exact.
func makeEvents(n int, seed uint64) []testEvent {
	rng := rand.New(rand.NewPCG(seed, 3))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	evs := make([]testEvent, n)
	feature := func() float32 {
		v := float32(rng.NormFloat64())
		if math.Abs(float64(v)) < 0.01 {
			v = 0.5
		}
		return v
	}
	for i := range evs {
		e := &evs[i]
		e.id = fmt.Sprintf("e%05d", i)
		e.user = fmt.Sprintf("u%d", rng.IntN(20))
		e.ts = t0 + int64(i)*1000
		e.f0, e.f1 = feature(), feature()
		e.label = 0
		if float64(e.f0)+0.8*rng.NormFloat64() > 0 {
			e.label = 1
		}
		switch {
		case i%50 == 49:
			e.bad = true
			e.rawLine = `{"id":"` + e.id + `","user":"u1","f0":"oops"}`
			continue
		case i%40 == 39:
			e.label = math.NaN()
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"id":%q,"user":%q,"ts":%d,"f0":%s,"f1":%s,"merchant":"m-%d"`, e.id, e.user, e.ts,
			strconv.FormatFloat(float64(e.f0), 'g', -1, 32), strconv.FormatFloat(float64(e.f1), 'g', -1, 32), i%7)
		if !math.IsNaN(e.label) {
			if i%3 == 0 {
				fmt.Fprintf(&b, `,"y":%v`, e.label == 1) // booleans read as 1 and 0
			} else {
				fmt.Fprintf(&b, `,"y":%g`, e.label)
			}
		}
		b.WriteString("}")
		e.rawLine = b.String()
	}
	return evs
}

func writeJSONL(t *testing.T, dir, name string, evs []testEvent) string {
	t.Helper()
	var b bytes.Buffer
	for _, e := range evs {
		b.WriteString(e.rawLine)
		b.WriteString("\n")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeParquet writes the good events as a Parquet file: ts as a
// timestamp, features as float32, the label as a nullable int64.
func writeParquet(t *testing.T, dir, name string, evs []testEvent) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "user", Type: arrow.BinaryTypes.String},
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ms},
		{Name: "f0", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f1", Type: arrow.PrimitiveTypes.Float32},
		{Name: "merchant", Type: arrow.BinaryTypes.String},
		{Name: "y", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for i, e := range evs {
		if e.bad {
			continue
		}
		b.Field(0).(*array.StringBuilder).Append(e.id)
		b.Field(1).(*array.StringBuilder).Append(e.user)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(e.ts))
		b.Field(3).(*array.Float32Builder).Append(e.f0)
		b.Field(4).(*array.Float32Builder).Append(e.f1)
		b.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("m-%d", i%7))
		if math.IsNaN(e.label) {
			b.Field(6).AppendNull()
		} else {
			b.Field(6).(*array.Int64Builder).Append(int64(e.label))
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func twoModels() []Model {
	return []Model{
		{Name: "champion", Scorer: sigmoidScorer{col: 0, version: "1"}},
		{Name: "challenger", Scorer: sigmoidScorer{col: 1, version: "2"}},
	}
}

// replayFiles runs a replay of paths into out with the test defaults.
func replayFiles(t *testing.T, paths []string, out string, mod func(*Config)) *Report {
	t.Helper()
	src, err := NewFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cfg := Config{
		Spec: parseSpec(t, testSpec), Source: src, Models: twoModels(), Label: "y",
		Policy: pipeline.Policy{MaxRows: 64}, Mem: mem,
	}
	if out != "" {
		o, err := CreateFile(out)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Output = o
	}
	if mod != nil {
		mod(&cfg)
	}
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	mem.AssertSize(t, 0)
	return rep
}

type outRow struct {
	ID        string                        `json:"event_id"`
	Key       string                        `json:"key"`
	EventTime int64                         `json:"event_time"`
	Label     *float64                      `json:"label"`
	Source    string                        `json:"source"`
	Partition int                           `json:"partition"`
	Offset    int64                         `json:"offset"`
	Scores    map[string]map[string]float64 `json:"scores"`
}

func readRows(t *testing.T, path string) []outRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []outRow
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var r outRow
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, line)
		}
		out = append(out, r)
	}
	return out
}

func sigmoid32(x float32) float64 { return float64(float32(1 / (1 + math.Exp(-float64(x))))) }

func TestReplayFilesRowsMetricsAndDisagreement(t *testing.T) {
	dir := t.TempDir()
	evs := makeEvents(1000, 1)
	in := writeJSONL(t, dir, "events.jsonl", evs)
	out := filepath.Join(dir, "scored.jsonl")
	rep := replayFiles(t, []string{in}, out, nil)

	rows := readRows(t, out)
	var good []testEvent
	for _, e := range evs {
		if !e.bad {
			good = append(good, e)
		}
	}
	if len(rows) != len(good) || rep.Scored != len(good) || rep.Events != int64(len(evs)) {
		t.Fatalf("%d rows written, report says %d scored of %d events; want %d of %d", len(rows), rep.Scored, rep.Events, len(good), len(evs))
	}
	var wantIDs []string
	var ys, s0, s1 []float64
	for i, r := range rows {
		e := good[i]
		line := slices.IndexFunc(evs, func(x testEvent) bool { return x.id == e.id }) + 1
		if r.ID != e.id || r.Key != e.user || r.EventTime != e.ts || r.Source != "events.jsonl" || r.Partition != 0 || r.Offset != int64(line) {
			t.Fatalf("row %d = %+v, want event %s of user %s at %d from line %d", i, r, e.id, e.user, e.ts, line)
		}
		// Scores print as the shortest text of their float32.
		if got, want := float32(r.Scores["champion"]["score"]), float32(sigmoid32(e.f0)); got != want {
			t.Fatalf("row %d champion score %v, want %v", i, got, want)
		}
		if got, want := float32(r.Scores["challenger"]["score"]), float32(sigmoid32(e.f1)); got != want {
			t.Fatalf("row %d challenger score %v, want %v", i, got, want)
		}
		if math.IsNaN(e.label) != (r.Label == nil) || r.Label != nil && *r.Label != e.label {
			t.Fatalf("row %d label %v, want %v", i, r.Label, e.label)
		}
		if (e.f0 >= 0) != (e.f1 >= 0) {
			wantIDs = append(wantIDs, e.id)
		}
		if !math.IsNaN(e.label) {
			ys = append(ys, e.label)
			s0 = append(s0, sigmoid32(e.f0))
			s1 = append(s1, sigmoid32(e.f1))
		}
	}

	if rep.Task != TaskClassifier || len(rep.Models) != 2 || rep.Models[0].Score != "score" {
		t.Fatalf("task %s, models %+v", rep.Task, rep.Models)
	}
	if rep.Labeled != len(ys) || rep.Unlabeled != len(good)-len(ys) || rep.BadLabels != 0 {
		t.Fatalf("labeled %d, unlabeled %d, bad %d; want %d, %d, 0", rep.Labeled, rep.Unlabeled, rep.BadLabels, len(ys), len(good)-len(ys))
	}
	for i, s := range [][]float64{s0, s1} {
		want := Classify(ys, s, 0.5, 10)
		got := rep.Models[i].Classifier
		if got == nil || got.ROCAUC != want.ROCAUC || got.LogLoss != want.LogLoss || got.TP != want.TP || got.FP != want.FP {
			t.Fatalf("model %d metrics %+v, want %+v", i, got, want)
		}
	}
	if len(rep.DeadLetters) != 1 || rep.DeadLetters[0].Reason != string(schemas.ReasonTypeMismatch) || rep.DeadLetters[0].Count != len(evs)-len(good) {
		t.Fatalf("dead letters %+v, want %d type mismatches", rep.DeadLetters, len(evs)-len(good))
	}
	if len(rep.Disagreements) != 1 {
		t.Fatalf("%d disagreements, want 1", len(rep.Disagreements))
	}
	d := rep.Disagreements[0]
	if !slices.Equal(d.IDs, wantIDs) || d.Differ != len(wantIDs) || d.Rows != len(good) {
		t.Fatalf("disagreement names %d rows (%v…), want exactly the %d whose feature signs differ", len(d.IDs), d.IDs[:min(5, len(d.IDs))], len(wantIDs))
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ROC curve", "Precision-recall curve", "champion (AUC " + fmtNum(rep.Models[0].Classifier.ROCAUC) + ")",
		"champion (AP " + fmtNum(rep.Models[0].Classifier.PRAUC) + ")", "<title>threshold 0.5</title>"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text, 3); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ROC AUC", "PR AUC", "log loss", "Brier", "F1", "calibration of champion", "challenger vs champion", wantIDs[0]} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	in := writeJSONL(t, dir, "events.jsonl", makeEvents(3000, 2))
	for _, ext := range []string{"jsonl", "parquet"} {
		t.Run(ext, func(t *testing.T) {
			var outs [][]byte
			var reports [][]byte
			for i := range 2 {
				out := filepath.Join(dir, fmt.Sprintf("scored-%d.%s", i, ext))
				rep := replayFiles(t, []string{in}, out, func(c *Config) { c.InFlight = 1 + i*3 })
				rep.Output = "" // the file names differ on purpose
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, b)
				var js, html bytes.Buffer
				if err := rep.WriteJSON(&js); err != nil {
					t.Fatal(err)
				}
				if err := rep.WriteHTML(&html); err != nil {
					t.Fatal(err)
				}
				reports = append(reports, append(js.Bytes(), html.Bytes()...))
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Fatalf("two replays wrote different %s files (%d and %d bytes)", ext, len(outs[0]), len(outs[1]))
			}
			if !bytes.Equal(reports[0], reports[1]) {
				t.Fatal("two replays wrote different reports")
			}
		})
	}
}

func TestReplayParquetMatchesJSONL(t *testing.T) {
	dir := t.TempDir()
	evs := makeEvents(500, 3)
	var good []testEvent
	for _, e := range evs {
		if !e.bad {
			good = append(good, e)
		}
	}
	jl := writeJSONL(t, dir, "events.jsonl", good)
	pq := writeParquet(t, dir, "events.parquet", good)
	a := replayFiles(t, []string{jl}, filepath.Join(dir, "a.jsonl"), nil)
	b := replayFiles(t, []string{pq}, filepath.Join(dir, "b.jsonl"), nil)
	ra, rb := readRows(t, filepath.Join(dir, "a.jsonl")), readRows(t, filepath.Join(dir, "b.jsonl"))
	if len(ra) != len(good) || len(ra) != len(rb) {
		t.Fatalf("JSONL gave %d rows, Parquet %d; want %d", len(ra), len(rb), len(good))
	}
	for i := range ra {
		if rb[i].Source != "events.parquet" {
			t.Fatalf("Parquet row source %q", rb[i].Source)
		}
		rb[i].Source = ra[i].Source
		ja, _ := json.Marshal(ra[i])
		jb, _ := json.Marshal(rb[i])
		if !bytes.Equal(ja, jb) {
			t.Fatalf("row %d differs:\nJSONL   %s\nParquet %s", i, ja, jb)
		}
	}
	if a.Models[0].Classifier.ROCAUC != b.Models[0].Classifier.ROCAUC {
		t.Fatal("metrics differ between the JSONL and the Parquet replay")
	}

	// Scored rows written as Parquet read back with the same values.
	out := filepath.Join(dir, "scored.parquet")
	replayFiles(t, []string{jl}, out, nil)
	pf, err := file.OpenParquetFile(out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var names []string
	for _, f := range tbl.Schema().Fields() {
		names = append(names, f.Name)
	}
	want := []string{"event_id", "key", "event_time", "label", "source", "partition", "offset", "champion.score", "challenger.score"}
	if !slices.Equal(names, want) || int(tbl.NumRows()) != len(ra) {
		t.Fatalf("Parquet output has columns %v and %d rows, want %v and %d", names, tbl.NumRows(), want, len(ra))
	}
	ch := tbl.Column(7).Data().Chunk(0).(*array.Float64)
	ids := tbl.Column(0).Data().Chunk(0).(*array.String)
	for i := range ch.Len() {
		if ids.Value(i) != ra[i].ID || float32(ch.Value(i)) != float32(ra[i].Scores["champion"]["score"]) {
			t.Fatalf("Parquet row %d: %s %v, JSONL %s %v", i, ids.Value(i), ch.Value(i), ra[i].ID, ra[i].Scores["champion"]["score"])
		}
	}
}

func TestReplayTimeWindowOnFiles(t *testing.T) {
	dir := t.TempDir()
	evs := makeEvents(300, 4)
	in := writeJSONL(t, dir, "events.jsonl", evs)
	from := time.UnixMilli(evs[100].ts)
	to := time.UnixMilli(evs[200].ts)
	out := filepath.Join(dir, "w.jsonl")
	rep := replayFiles(t, []string{in}, out, func(c *Config) { c.From, c.To = from, to })
	var want []string
	for _, e := range evs[100:200] {
		if !e.bad {
			want = append(want, e.id)
		}
	}
	var got []string
	for _, r := range readRows(t, out) {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, want) || rep.Scored != len(want) {
		t.Fatalf("window kept %d rows (%v…), want the %d in [from, to)", len(got), got[:min(3, len(got))], len(want))
	}
	if rep.Outside == 0 {
		t.Fatal("report counts no rows outside the window")
	}
}

func TestReplaySeveralFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	evs := makeEvents(200, 5)
	a := writeJSONL(t, dir, "part-1.jsonl", evs[:120])
	writeJSONL(t, dir, "part-2.jsonl", evs[120:])
	_ = a
	files, err := ExpandFiles([]string{filepath.Join(dir, "part-*.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := NewFiles(files)
	n, err := src.Count(t.Context())
	if err != nil || n != 200 {
		t.Fatalf("Count = %d, %v; want 200", n, err)
	}
	out := filepath.Join(dir, "s.jsonl")
	replayFiles(t, files, out, nil)
	rows := readRows(t, out)
	for i := 1; i < len(rows); i++ {
		if rows[i].ID <= rows[i-1].ID {
			t.Fatalf("rows out of file order: %s after %s", rows[i].ID, rows[i-1].ID)
		}
	}
	if rows[len(rows)-1].Source != "part-2.jsonl" || rows[len(rows)-1].Partition != 1 {
		t.Fatalf("last row from %s (%d), want part-2.jsonl (1)", rows[len(rows)-1].Source, rows[len(rows)-1].Partition)
	}
}

const setSpec = `
name: sets
id: id
key: user
features:
  - {name: f0}
feature_sets:
  - name: stats
    key: "s:{user}"
    features: [{name: spend, default: 0.25}]
model: {input: x, outputs: [{name: p, as: score}]}
`

// fixedStore serves spend = 7 for every row.
type fixedStore struct{}

func (fixedStore) Enrich(_ context.Context, in pipeline.EnrichInput) (pipeline.EnrichResult, error) {
	for r := range in.Rows {
		in.Features[r*in.Cols+1] = 7
	}
	return pipeline.EnrichResult{}, nil
}

// colScorer scores a row as the value of one input column.
type colScorer struct{ col int }

func (colScorer) Name() string    { return "col" }
func (colScorer) Version() string { return "1" }
func (s colScorer) Score(_ context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	out := schemas.Scores{Name: "score", Width: 1, Bits: 32, Values: make([]float64, in.Rows)}
	for r := range in.Rows {
		out.Values[r] = float64(in.Features[r*in.Cols+s.col])
	}
	return pipeline.ScoreResult{Scores: []schemas.Scores{out}}, nil
}

func TestReplayFeatureSources(t *testing.T) {
	tests := []struct {
		source FeatureSource
		store  pipeline.FeatureStore
		want   []float64
	}{
		{FeaturesEvent, nil, []float64{3, 0.25}}, // the row's value, else the default
		{FeaturesNone, nil, []float64{0.25, 0.25}},
		{FeaturesRedis, fixedStore{}, []float64{7, 7}},
	}
	for _, tc := range tests {
		t.Run(string(tc.source), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "e.jsonl")
			os.WriteFile(in, []byte(`{"id":"a","user":"u1","f0":1,"spend":3}`+"\n"+`{"id":"b","user":"u2","f0":1}`+"\n"), 0o644)
			out := filepath.Join(dir, "o.jsonl")
			src, _ := NewFiles([]string{in})
			o, _ := CreateFile(out)
			_, err := Run(t.Context(), Config{
				Spec: parseSpec(t, setSpec), Source: src, Output: o, Features: tc.source, Store: tc.store,
				Models: []Model{{Name: "m", Scorer: colScorer{col: 1}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			rows := readRows(t, out)
			var got []float64
			for _, r := range rows {
				got = append(got, r.Scores["m"]["score"])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("spend seen by the model = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("redis without a store", func(t *testing.T) {
		src, _ := NewFiles([]string{"x.jsonl"})
		_, err := Run(t.Context(), Config{Spec: parseSpec(t, setSpec), Source: src, Features: FeaturesRedis, Models: []Model{{Name: "m", Scorer: colScorer{}}}})
		if err == nil || !strings.Contains(err.Error(), "feature store") {
			t.Fatalf("err = %v, want one naming the missing feature store", err)
		}
	})
}

func TestReplayInterruptedDiscardsOutput(t *testing.T) {
	dir := t.TempDir()
	in := writeJSONL(t, dir, "events.jsonl", makeEvents(20000, 6))
	out := filepath.Join(dir, "scored.jsonl")
	src, _ := NewFiles([]string{in})
	o, _ := CreateFile(out)
	ctx, cancel := context.WithCancel(t.Context())
	_, err := Run(ctx, Config{
		Spec: parseSpec(t, testSpec), Source: src, Models: twoModels(), Output: o, Label: "y",
		Policy:   pipeline.Policy{MaxRows: 16},
		Progress: func(done int64) { cancel() },
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("an interrupted replay left %s behind (%v)", out, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".scored*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestReplayRegressorAndSelectors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"id":"r%d","user":"u","f0":%d,"f1":%d,"y":%d}`+"\n", i, i, i+1, i)
	}
	os.WriteFile(in, []byte(b.String()), 0o644)
	rep := replayFiles(t, []string{in}, "", func(c *Config) {
		c.Models = []Model{{Name: "a", Scorer: colScorer{col: 0}}, {Name: "b", Scorer: colScorer{col: 1}}}
		c.Tolerance = 0.5
	})
	if rep.Task != TaskRegressor || rep.Models[0].Regressor == nil || rep.Models[0].Regressor.RMSE != 0 || rep.Models[1].Regressor.RMSE != 1 {
		t.Fatalf("regressor report: task %s, %+v %+v", rep.Task, rep.Models[0].Regressor, rep.Models[1].Regressor)
	}
	if d := rep.Disagreements[0]; d.Differ != 50 || d.Diff.Mean != 1 {
		t.Fatalf("disagreement %+v, want every row 1 apart", d)
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in   string
		want Selector
		err  bool
	}{
		{"", Selector{}, false},
		{"score", Selector{Output: "score", Column: -1}, false},
		{"probabilities[1]", Selector{Output: "probabilities", Column: 1}, false},
		{"probabilities:0", Selector{Output: "probabilities", Column: 0}, false},
		{"p[x]", Selector{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSelector(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("ParseSelector(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestSelectScores(t *testing.T) {
	l := &layout{models: []modelLayout{
		{name: "mlp", outputs: []outputLayout{{name: "label", width: 1, index: 0}, {name: "probabilities", width: 2, index: 1}}},
		{name: "lin", outputs: []outputLayout{{name: "score", width: 1, index: 2}}},
	}}
	sel, err := l.selectScores(Selector{})
	if err != nil {
		t.Fatal(err)
	}
	if sel[0] != (selected{output: 1, column: 1, name: "probabilities[1]"}) || sel[1] != (selected{output: 2, column: 0, name: "score"}) {
		t.Fatalf("auto selection = %+v", sel)
	}
	if _, err := l.selectScores(Selector{Output: "probabilities", Column: -1}); err == nil {
		t.Fatal("selecting an output one model lacks is not an error")
	}
}

func TestParseLabel(t *testing.T) {
	tests := []struct {
		raw  string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"0", 0, true}, {"0.25", 0.25, true}, {"true", 1, true}, {"false", 0, true},
		{`"1"`, 1, true}, {`"false"`, 0, true}, {`"fraud"`, 0, false}, {`{"a":1}`, 0, false},
	}
	for _, tc := range tests {
		got, ok := parseLabel(tc.raw)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseLabel(%s) = %v, %v; want %v, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTopicMergeOrder(t *testing.T) {
	// Three partitions with interleaved, tied and out-of-order timestamps:
	// the merge must give one order, by (time, partition, offset).
	msgs := [][]schemas.Message{
		{{Partition: 0, Offset: 0, Time: time.UnixMilli(5)}, {Partition: 0, Offset: 1, Time: time.UnixMilli(3)}, {Partition: 0, Offset: 2, Time: time.UnixMilli(9)}},
		{{Partition: 1, Offset: 10, Time: time.UnixMilli(5)}, {Partition: 1, Offset: 11, Time: time.UnixMilli(6)}},
		{},
		{{Partition: 3, Offset: 7, Time: time.UnixMilli(1)}},
	}
	chans := make([]chan schemas.Message, len(msgs))
	for i, ms := range msgs {
		chans[i] = make(chan schemas.Message, len(ms))
		for _, m := range ms {
			chans[i] <- m
		}
		close(chans[i])
	}
	out := make(chan schemas.Message, 16)
	tp := &Topic{stop: make(chan struct{})}
	tp.merge(t.Context(), chans, out)
	close(out)
	var got []string
	for m := range out {
		got = append(got, fmt.Sprintf("%d/%d", m.Partition, m.Offset))
	}
	want := []string{"3/7", "0/0", "0/1", "1/10", "1/11", "0/2"}
	if !slices.Equal(got, want) {
		t.Fatalf("merge order %v, want %v", got, want)
	}
}

func TestReplayWithNothingScored(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(in, []byte("not json\n{\"id\":\"x\"}\n"), 0o644)
	for _, ext := range []string{"jsonl", "parquet"} {
		t.Run(ext, func(t *testing.T) {
			out := filepath.Join(dir, "scored."+ext)
			rep := replayFiles(t, []string{in}, out, nil)
			if rep.Scored != 0 || rep.Events != 2 || len(rep.Models) != 2 || len(rep.DeadLetters) == 0 {
				t.Fatalf("report %+v", rep)
			}
			st, err := os.Stat(out)
			if err != nil {
				t.Fatalf("no output file for an empty replay: %v", err)
			}
			if ext == "jsonl" && st.Size() != 0 {
				t.Fatalf("empty replay wrote %d bytes of JSONL", st.Size())
			}
			if ext == "parquet" {
				pf, err := file.OpenParquetFile(out, false)
				if err != nil {
					t.Fatalf("empty Parquet output does not open: %v", err)
				}
				pf.Close()
			}
		})
	}
	t.Run("unused output leaves nothing", func(t *testing.T) {
		sub := t.TempDir()
		if _, err := CreateFile(filepath.Join(sub, "x.parquet")); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(sub); len(left) != 0 {
			t.Fatalf("CreateFile left %v", left)
		}
	})
}
