package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/streamscore/streamscore/schemas"
)

// layout places a baseline's columns in a scored batch and in one flat
// slice of counts: column i's bins at [off, off+bins), its missing count at
// off+bins.
type layout struct {
	cols   []rtCol
	width  int
	stride int // model input width (spec.Columns())
}

type rtCol struct {
	c      *Column
	tensor int  // FromFeature: model input column
	set    bool // FromFeature: a feature-set feature
	pass   int  // FromPassthrough: record column
	str    int  // FromFeature of type string: the feature's record column
	edges  []float64
	table  *binTable // numeric features: fast float32 lookup
	numCat map[float32]int32
	strCat map[string]int32
	bins   int
	off    int
}

// newLayout resolves every column of b against spec.
func newLayout(b *Baseline, spec *schemas.Spec) (*layout, error) {
	l := &layout{stride: spec.Columns()}
	names := spec.FeatureNames()
	for i := range b.Columns {
		c := &b.Columns[i]
		rc := rtCol{c: c, edges: c.Edges, bins: c.Bins(), off: l.width, tensor: -1, pass: -1, str: -1}
		switch c.Source {
		case FromFeature:
			_, sf := spec.SetFeature(c.Name)
			if f := spec.Feature(c.Name); (f != nil && f.Type == schemas.TypeString) || (sf != nil && !sf.InMatrix()) {
				rc.str, rc.set = spec.FeatureColumn(c.Name), sf != nil
				if c.Kind != Categorical || rc.str < 0 {
					return nil, fmt.Errorf("baseline column %q is a %s column, but schema %s has it as a string feature; rebuild the baseline with `streamscore baseline`", c.Name, c.Kind, spec)
				}
				break
			}
			rc.tensor = slices.Index(names, c.Name)
			if rc.tensor < 0 {
				return nil, fmt.Errorf("baseline column %q is not a feature of schema %s; rebuild the baseline with `streamscore baseline`", c.Name, spec)
			}
			rc.set = rc.tensor >= len(spec.Features)
		case FromPassthrough:
			p := slices.Index(spec.Passthrough, c.Name)
			if p < 0 {
				return nil, fmt.Errorf("baseline column %q is not a passthrough field of schema %s; rebuild the baseline with `streamscore baseline`", c.Name, spec)
			}
			rc.pass = 4 + p
		case FromOutput:
			if !slices.ContainsFunc(spec.Model.Outputs, func(o schemas.Output) bool { return o.As == c.Output }) {
				return nil, fmt.Errorf("baseline column %q reads output %q, which schema %s does not bind; rebuild the baseline", c.Name, c.Output, spec)
			}
		}
		if c.Kind == Numeric && c.Source == FromFeature {
			rc.table = newBinTable(c.Edges)
		}
		if c.Kind == Categorical {
			if c.Source == FromPassthrough || rc.str >= 0 {
				rc.strCat = stringCategories(c.Categories)
			} else {
				rc.numCat = numericCategories(c.Categories)
			}
		}
		l.cols = append(l.cols, rc)
		l.width += rc.bins + 1
	}
	return l, nil
}

// histogram returns column i's histogram within counts (sharing memory).
func (l *layout) histogram(counts []int64, i int) Histogram {
	c := &l.cols[i]
	return Histogram{Counts: counts[c.off : c.off+c.bins], Missing: counts[c.off+c.bins]}
}

// fold adds the values of the record rows listed in rows into counts.
func (l *layout) fold(counts []int64, b *schemas.ScoredBatch, rows []int32) {
	x := b.Decoded.Features()
	for i := range l.cols {
		c := &l.cols[i]
		cnt := counts[c.off : c.off+c.bins+1]
		switch c.c.Source {
		case FromFeature:
			if c.str >= 0 {
				var fmiss []bool
				if c.set {
					fmiss = b.FeaturesMissing
				}
				foldStrings(cnt, c, b.Decoded.Record.Column(c.str), fmiss, rows)
				continue
			}
			l.foldFeature(cnt, c, x, b.FeaturesMissing, rows)
		case FromPassthrough:
			foldPassthrough(cnt, c, b.Decoded.Record.Column(c.pass).(*array.String), rows)
		case FromOutput:
			foldOutput(cnt, c, b.Scores, rows)
		}
	}
}

func (l *layout) foldFeature(cnt []int64, c *rtCol, x []float32, fmiss []bool, rows []int32) {
	miss := c.bins
	j, stride := c.tensor, l.stride
	if c.set && fmiss != nil {
		// Rows scored with defaults for feature-set features count as
		// missing in feature-set columns.
		for _, r := range rows {
			if fmiss[r] {
				cnt[miss]++
				continue
			}
			c.foldValue(cnt, x[int(r)*stride+j])
		}
		return
	}
	if c.table == nil {
		for _, r := range rows {
			c.foldValue(cnt, x[int(r)*stride+j])
		}
		return
	}
	// The common case, inlined: a table lookup, an edge count in the few
	// ranges that straddle an edge.
	t, edges := &c.table.bins, c.edges
	for _, r := range rows {
		v := x[int(r)*stride+j]
		if v != v {
			cnt[miss]++
			continue
		}
		b := int(t[floatKey(v)>>(32-binTableBits)])
		if b == straddles {
			b = binOf(edges, float64(v))
		}
		cnt[b]++
	}
}

// foldValue counts one model input value.
func (c *rtCol) foldValue(cnt []int64, v float32) {
	if v != v {
		cnt[c.bins]++
		return
	}
	if c.table != nil {
		b := int(c.table.bins[floatKey(v)>>(32-binTableBits)])
		if b == straddles {
			b = binOf(c.edges, float64(v))
		}
		cnt[b]++
		return
	}
	if c.numCat != nil {
		b, ok := c.numCat[v]
		if !ok {
			b = int32(c.bins - 1)
		}
		cnt[b]++
		return
	}
	cnt[binOf(c.edges, float64(v))]++
}

func foldPassthrough(cnt []int64, c *rtCol, col *array.String, rows []int32) {
	miss, other := c.bins, int32(c.bins-1)
	for _, r := range rows {
		if col.IsNull(int(r)) {
			cnt[miss]++
			continue
		}
		s, ok := passthroughLabel(col.Value(int(r)))
		if !ok {
			cnt[miss]++
			continue
		}
		b, found := c.strCat[s]
		if !found {
			b = other
		}
		cnt[b]++
	}
}

// foldStrings counts a string feature's own column: each value in its
// vocabulary bin, a value outside the vocabulary (one never seen in
// training, or too rare to be kept) in the other bin, null as missing, and
// so is a feature-set value of a row marked in fmiss (scored with
// defaults).
func foldStrings(cnt []int64, c *rtCol, col arrow.Array, fmiss []bool, rows []int32) {
	miss, other := c.bins, int32(c.bins-1)
	if fmiss != nil {
		kept := make([]int32, 0, len(rows))
		for _, r := range rows {
			if fmiss[r] {
				cnt[miss]++
			} else {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	count := func(s string) {
		b, found := c.strCat[s]
		if !found {
			b = other
		}
		cnt[b]++
	}
	switch col := col.(type) {
	case *array.String:
		for _, r := range rows {
			if col.IsNull(int(r)) {
				cnt[miss]++
				continue
			}
			count(col.Value(int(r)))
		}
	case *array.Dictionary:
		dict, ok := col.Dictionary().(*array.String)
		for _, r := range rows {
			if !ok || col.IsNull(int(r)) {
				cnt[miss]++
				continue
			}
			count(dict.Value(col.GetValueIndex(int(r))))
		}
	default:
		cnt[miss] += int64(len(rows))
	}
}

// passthroughLabel turns a passthrough field's raw JSON into its category
// label: a string's text, or the JSON of any other value. null is missing.
func passthroughLabel(raw string) (string, bool) {
	if raw == "null" || raw == "" {
		return "", false
	}
	if raw[0] != '"' {
		return raw, true
	}
	if len(raw) >= 2 && strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	if s, err := strconv.Unquote(raw); err == nil {
		return s, true
	}
	var s string
	if err := json.Unmarshal([]byte(raw), &s); err == nil {
		return s, true
	}
	return raw, true
}

func foldOutput(cnt []int64, c *rtCol, scores []schemas.Scores, rows []int32) {
	miss := c.bins
	var sc *schemas.Scores
	for k := range scores {
		if scores[k].Name == c.c.Output {
			sc = &scores[k]
			break
		}
	}
	if sc == nil || c.c.Element >= sc.Width {
		cnt[miss] += int64(len(rows))
		return
	}
	w, e := sc.Width, c.c.Element
	for _, r := range rows {
		i := int(r)*w + e
		if i >= len(sc.Values) {
			cnt[miss]++
			continue
		}
		v := sc.Values[i]
		if math.IsNaN(v) {
			cnt[miss]++
			continue
		}
		if c.numCat != nil {
			b, ok := c.numCat[float32(v)]
			if !ok {
				b = int32(c.bins - 1)
			}
			cnt[b]++
			continue
		}
		cnt[binOf(c.edges, v)]++
	}
}

// binTableBits is how many leading bits of a float32's order key index a
// binTable: 4096 ranges, each 1/8 of a power of two wide.
const binTableBits = 12

// straddles marks a binTable range that holds an edge; its values are
// binned by counting edges.
const straddles = 255

// binTable maps the leading bits of a float32's order key to the bin of
// every value in that range, so most values are binned with one load
// instead of a comparison per edge (comparisons on random data mispredict).
type binTable struct {
	bins [1 << binTableBits]uint8
}

// floatKey maps a float32 to a uint32 with the same order (for values that
// are not NaN), without branches.
func floatKey(v float32) uint32 {
	b := math.Float32bits(v)
	return b ^ (uint32(int32(b)>>31) | 0x80000000)
}

// keyFloat inverts floatKey.
func keyFloat(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

// newBinTable returns the table for edges, or nil when there are too many
// bins for a uint8.
func newBinTable(edges []float64) *binTable {
	if len(edges) >= straddles {
		return nil
	}
	t := &binTable{}
	const span = 1 << (32 - binTableBits)
	for i := range t.bins {
		lo := keyFloat(uint32(i) * span)
		hi := keyFloat(uint32(i)*span + span - 1)
		if lo != lo || hi != hi {
			t.bins[i] = straddles // NaN keys at the ends; values there are checked
			continue
		}
		bl, bh := binOf(edges, float64(lo)), binOf(edges, float64(hi))
		if bl == bh {
			t.bins[i] = uint8(bl)
		} else {
			t.bins[i] = straddles
		}
	}
	return t
}
