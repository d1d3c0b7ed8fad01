package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// testSpecYAML has a numeric feature x, a bool feature flag, a feature-set
// feature spend, a passthrough field country, and one output score.
const testSpecYAML = `
name: pay
version: "1"
id: id
key: user
features:
  - {name: x}
  - {name: flag, type: bool, default: 0}
feature_sets:
  - name: stats
    key: "u:{user}"
    features: [{name: spend, default: -1}]
passthrough: [country]
model: {input: in, outputs: [{name: out, as: score}]}
`

func testSpec(t testing.TB) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(testSpecYAML))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// row is one test event.
type row struct {
	x       float64
	flag    bool
	country string // "" for absent
	spend   float32
	missing bool // feature-set entity missing
	score   float64
	bad     bool // rejected by the model
}

// testBaseline builds a baseline with x in 4 quantile bins over 0..99
// (edges 25, 50, 75), flag as a category, country categorical with
// vocabulary {de, fr}, spend in 2 bins (edge 0), score in 2 bins (edge .5).
func testBaseline(t testing.TB, spec *schemas.Spec) *Baseline {
	t.Helper()
	cols, err := PlanColumns(spec, PlanOptions{Categorical: []string{"country"}, Outputs: []OutputWidth{{Name: "score", Width: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(cols, BuilderConfig{Bins: 4, MaxCategories: 2})
	if err != nil {
		t.Fatal(err)
	}
	batch := &Batch{Rows: 100, Cols: make([]Values, len(cols))}
	for i, c := range cols {
		v := &batch.Cols[i]
		for r := range 100 {
			switch c.Name {
			case "x":
				v.Floats = append(v.Floats, float64(r))
			case "flag":
				v.Floats = append(v.Floats, float64(r%2))
			case "spend":
				v.Floats = append(v.Floats, float64(r%2)*2-1) // -1, 1
			case "country":
				v.Strings = append(v.Strings, []string{"de", "fr", "de", "it"}[r%4])
			case "score":
				v.Floats = append(v.Floats, float64(r%2)*0.5+0.25) // .25, .75
			}
		}
	}
	if err := b.Sample(batch); err != nil {
		t.Fatal(err)
	}
	b.Freeze()
	if err := b.Count(batch); err != nil {
		t.Fatal(err)
	}
	return b.Baseline(spec.String(), nil, 0)
}

// scoredBatch decodes rows into a ScoredBatch; release it with
// sb.Decoded.Release().
func scoredBatch(t testing.TB, spec *schemas.Spec, mem memory.Allocator, version string, rows []row) *schemas.ScoredBatch {
	t.Helper()
	msgs := make([]schemas.Message, len(rows))
	for i, r := range rows {
		v := fmt.Sprintf(`{"id":"e%d","user":"u%d","x":%s,"flag":%t`, i, i, strconv.FormatFloat(r.x, 'g', -1, 64), r.flag)
		if r.country != "" {
			v += fmt.Sprintf(`,"country":%q`, r.country)
		}
		v += "}"
		msgs[i] = schemas.Message{Value: []byte(v), Offset: int64(i), Time: time.UnixMilli(0)}
	}
	d := schemas.NewDecoder(spec, mem).Decode(msgs)
	if len(d.Errors) > 0 {
		t.Fatalf("decoding test rows: %+v", d.Errors[0])
	}
	x := d.Features()
	sb := &schemas.ScoredBatch{Msgs: msgs, Decoded: d, Model: "m", ModelVersion: version, Scores: []schemas.Scores{{Name: "score", Width: 1, Bits: 64}}}
	for i, r := range rows {
		x[i*spec.Columns()+2] = r.spend // the feature store's value
		sb.Scores[0].Values = append(sb.Scores[0].Values, r.score)
		if r.missing {
			if sb.FeaturesMissing == nil {
				sb.FeaturesMissing = make([]bool, len(rows))
			}
			sb.FeaturesMissing[i] = true
		}
		if r.bad {
			if sb.OK == nil {
				sb.OK = make([]bool, len(rows))
				for j := range sb.OK {
					sb.OK[j] = true
				}
			}
			sb.OK[i] = false
		}
	}
	return sb
}

// normalRows returns n rows with x ~ N(mean·…) scaled to the baseline's
// 0..99 range, everything else as in the baseline.
func normalRows(rng *rand.Rand, n int, shift float64) []row {
	out := make([]row, n)
	for i := range out {
		x := rng.Float64()*100 + shift
		out[i] = row{x: math.Floor(x), flag: i%2 == 1, country: []string{"de", "fr", "de", "it"}[i%4], spend: float32(i%2)*2 - 1, score: float64(i%2)*0.5 + 0.25}
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
