package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// classScorer is a classifier as skl2onnx exports one: a string label
// ("yes" when f0 ≥ 0) and a ZipMap of class probabilities, p(yes) =
// sigmoid(f0).
type classScorer struct{}

func (classScorer) Name() string    { return "clf" }
func (classScorer) Version() string { return "1" }
func (classScorer) Score(_ context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	label := schemas.Scores{Name: "label", Width: 1, Bits: 64, Values: make([]float64, in.Rows), Strings: make([]string, in.Rows)}
	probs := schemas.Scores{Name: "probabilities", Width: 2, Bits: 32, Values: make([]float64, 2*in.Rows), Keys: []string{"no", "yes"}}
	for r := range in.Rows {
		p := sigmoid32(in.Features[r*in.Cols])
		label.Values[r] = math.NaN()
		label.Strings[r] = "no"
		if p >= 0.5 {
			label.Strings[r] = "yes"
		}
		probs.Values[2*r], probs.Values[2*r+1] = float64(float32(1-p)), p
	}
	return pipeline.ScoreResult{Scores: []schemas.Scores{label, probs}, Model: "clf", Version: "1"}, nil
}

// labelRow is a replay output row of classScorer.
type labelRow struct {
	ID     string `json:"event_id"`
	Scores map[string]struct {
		Label         *string            `json:"label"`
		Probabilities map[string]float64 `json:"probabilities"`
	} `json:"scores"`
}

func TestReplayWritesLabelsAndClassMaps(t *testing.T) {
	dir := t.TempDir()
	evs := makeEvents(300, 9)
	in := writeJSONL(t, dir, "events.jsonl", evs)
	good := slices.DeleteFunc(slices.Clone(evs), func(e testEvent) bool { return e.bad })
	models := func(c *Config) {
		c.Models = []Model{{Name: "clf", Scorer: classScorer{}}}
		c.Score = Selector{Output: "probabilities", Column: 1}
	}

	out := filepath.Join(dir, "scored.jsonl")
	rep := replayFiles(t, []string{in}, out, models)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(lines) != len(good) {
		t.Fatalf("%d rows written, want %d", len(lines), len(good))
	}
	for i, line := range lines {
		var r labelRow
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("row %d is not JSON: %v: %s", i, err, line)
		}
		e, s := good[i], r.Scores["clf"]
		p := sigmoid32(e.f0)
		want := map[bool]string{true: "yes", false: "no"}[p >= 0.5]
		if s.Label == nil || *s.Label != want {
			t.Fatalf("row %d label = %v, want %q: %s", i, s.Label, want, line)
		}
		if len(s.Probabilities) != 2 || float32(s.Probabilities["yes"]) != float32(p) || float32(s.Probabilities["no"]) != float32(1-p) {
			t.Fatalf("row %d probabilities = %v, want {no: %v, yes: %v}: %s", i, s.Probabilities, float32(1-p), float32(p), line)
		}
	}
	// Metrics still select probabilities[1], a ZipMap's second class.
	if rep.Models[0].Classifier == nil || rep.Models[0].Classifier.ROCAUC < 0.6 {
		t.Fatalf("classifier metrics %+v, want an AUC from p(yes)", rep.Models[0].Classifier)
	}

	// Parquet: labels as utf8, one float64 column per class.
	pqOut := filepath.Join(dir, "scored.parquet")
	replayFiles(t, []string{in}, pqOut, models)
	pf, err := file.OpenParquetFile(pqOut, false)
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
	wantNames := []string{"event_id", "key", "event_time", "label", "source", "partition", "offset", "clf.label", "clf.probabilities[no]", "clf.probabilities[yes]"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("Parquet columns %v, want %v", names, wantNames)
	}
	labels := tbl.Column(7).Data().Chunk(0).(*array.String)
	yes := tbl.Column(9).Data().Chunk(0).(*array.Float64)
	for i := range labels.Len() {
		p := sigmoid32(good[i].f0)
		if want := map[bool]string{true: "yes", false: "no"}[p >= 0.5]; labels.Value(i) != want || float32(yes.Value(i)) != float32(p) {
			t.Fatalf("Parquet row %d: label %q p(yes) %v, want %q %v", i, labels.Value(i), yes.Value(i), want, p)
		}
	}
}
