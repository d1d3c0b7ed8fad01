package drift

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// Defaults of BuilderConfig.
const (
	DefaultBins          = 10
	DefaultMaxCategories = 50
	DefaultSample        = 1 << 18
	// maxDistinct bounds the distinct values a categorical column tracks
	// while its vocabulary is chosen; later new values count as other.
	maxDistinct = 100_000
)

// OutputWidth names a model output (by its scored-event name) and how many
// values it has per row.
type OutputWidth struct {
	Name  string
	Width int
}

// PlanOptions says which columns a baseline watches beyond the numeric
// features.
type PlanOptions struct {
	// Categorical names features (coded as numbers) and passthrough fields
	// (strings) to treat as categorical. Bool features are always
	// categorical.
	Categorical []string
	// Outputs are the model outputs to watch; an output of width w > 1
	// gives columns "name[0]" … "name[w-1]".
	Outputs []OutputWidth
}

// PlanColumns returns the columns of a baseline for spec: every scalar model
// input feature (numeric, or categorical when named in opts or of type bool
// or string), each categorical passthrough field named in opts, then each
// output element. Array features (embeddings) are not watched. It fails on
// a name that is neither a feature nor a passthrough, and on an array
// feature named categorical.
func PlanColumns(spec *schemas.Spec, opts PlanOptions) ([]Column, error) {
	cat := map[string]bool{}
	for _, n := range opts.Categorical {
		cat[n] = true
	}
	var cols []Column
	used := map[string]bool{}
	for _, f := range spec.Features {
		if f.Length > 0 {
			if cat[f.Name] {
				return nil, fmt.Errorf("categorical column %q is an array feature (%s[%d]); drift watches only scalar features: remove it from the categorical list", f.Name, f.Type, f.Length)
			}
			continue
		}
		k := Numeric
		if cat[f.Name] || f.Type == schemas.TypeBool || f.Type == schemas.TypeString {
			k = Categorical
		}
		delete(cat, f.Name)
		cols = append(cols, Column{Name: f.Name, Source: FromFeature, Kind: k})
		used[f.Name] = true
	}
	for _, fs := range spec.FeatureSets {
		for _, f := range fs.Features {
			k := Numeric
			if cat[f.Name] || !f.InMatrix() {
				k = Categorical
			}
			delete(cat, f.Name)
			cols = append(cols, Column{Name: f.Name, Source: FromFeature, Kind: k})
			used[f.Name] = true
		}
	}
	for _, p := range spec.Passthrough {
		if cat[p] {
			delete(cat, p)
			cols = append(cols, Column{Name: p, Source: FromPassthrough, Kind: Categorical})
			used[p] = true
		}
	}
	if len(cat) > 0 {
		var names []string
		for n := range cat {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("categorical columns %v are neither features nor passthrough fields of schema %s", names, spec)
	}
	for _, o := range opts.Outputs {
		w := max(o.Width, 1)
		for e := range w {
			name := o.Name
			if w > 1 {
				name = fmt.Sprintf("%s[%d]", o.Name, e)
			}
			if used[name] {
				name = "output." + name
			}
			used[name] = true
			cols = append(cols, Column{Name: name, Source: FromOutput, Kind: Numeric, Output: o.Name, Element: e})
		}
	}
	return cols, nil
}

// BuilderConfig tunes a Builder. Zero values take the defaults.
type BuilderConfig struct {
	// Bins is the number of quantile bins per numeric column (default 10).
	Bins int
	// MaxCategories bounds a categorical vocabulary (default 50); rarer
	// values count in the "other" bin.
	MaxCategories int
	// Sample bounds the values per numeric column kept to find the
	// quantiles (default 262144, reservoir-sampled with a fixed seed, so a
	// baseline is reproducible); counts are always exact.
	Sample int
}

// Values are one column's values for a Batch. Numeric columns and
// categorical features coded as numbers use Floats (NaN is missing);
// passthrough columns and string features use Strings, with Present false
// for a missing value (nil: all present).
type Values struct {
	Floats  []float64
	Strings []string
	Present []bool
	// Defaulted counts values that were absent and took the schema's
	// default (they are in Floats as the default).
	Defaulted int64
}

// Batch holds rows of training data, one Values per column in the
// builder's column order.
type Batch struct {
	Rows int
	Cols []Values
}

// Builder computes a Baseline in two passes over the training data: the
// first (Sample) finds bin edges and vocabularies, the second (Count)
// counts every value into them. It is not safe for concurrent use.
type Builder struct {
	cfg    BuilderConfig
	cols   []Column
	state  []colState
	rng    *rand.Rand
	frozen bool
	rows   int64
}

type colState struct {
	sample   []float64
	seen     int64
	distinct map[string]int64
	numCat   map[float32]int32
	strCat   map[string]int32
	// moments over present values, pass 2 (Welford)
	n        int64
	mean, m2 float64
}

// NewBuilder returns a builder for cols (from PlanColumns).
func NewBuilder(cols []Column, cfg BuilderConfig) (*Builder, error) {
	if cfg.Bins == 0 {
		cfg.Bins = DefaultBins
	}
	if cfg.MaxCategories == 0 {
		cfg.MaxCategories = DefaultMaxCategories
	}
	if cfg.Sample == 0 {
		cfg.Sample = DefaultSample
	}
	if cfg.Bins < 1 || cfg.MaxCategories < 1 || cfg.Sample < 1 {
		return nil, errors.New("building a baseline: bins, categories and sample must be positive")
	}
	if len(cols) == 0 {
		return nil, errors.New("building a baseline: no columns")
	}
	b := &Builder{cfg: cfg, cols: slices.Clone(cols), state: make([]colState, len(cols)), rng: rand.New(rand.NewPCG(1, 2))}
	for i := range b.cols {
		c := &b.cols[i]
		c.Edges, c.Categories, c.Counts, c.Missing, c.Defaulted = nil, nil, nil, 0, 0
		if c.Kind == Categorical {
			b.state[i].distinct = map[string]int64{}
		}
	}
	return b, nil
}

// Columns returns the builder's columns, in Batch order.
func (b *Builder) Columns() []Column { return b.cols }

func (b *Builder) check(batch *Batch) error {
	if len(batch.Cols) != len(b.cols) {
		return fmt.Errorf("building a baseline: batch has %d columns, want %d", len(batch.Cols), len(b.cols))
	}
	return nil
}

// Sample feeds one batch of the first pass.
func (b *Builder) Sample(batch *Batch) error {
	if b.frozen {
		return errors.New("building a baseline: Sample after Freeze")
	}
	if err := b.check(batch); err != nil {
		return err
	}
	for i := range b.cols {
		c, st, v := &b.cols[i], &b.state[i], &batch.Cols[i]
		switch {
		case c.Kind == Numeric:
			for _, x := range v.Floats {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					continue
				}
				if len(st.sample) < b.cfg.Sample {
					st.sample = append(st.sample, x)
				} else if j := b.rng.Int64N(st.seen + 1); j < int64(b.cfg.Sample) {
					st.sample[j] = x
				}
				st.seen++
			}
		case v.Strings != nil:
			for r, s := range v.Strings {
				if v.Present == nil || v.Present[r] {
					st.countDistinct(s)
				}
			}
		default:
			for _, x := range v.Floats {
				if !math.IsNaN(x) && !math.IsInf(x, 0) {
					st.countDistinct(categoryLabel(float32(x)))
				}
			}
		}
	}
	return nil
}

func (st *colState) countDistinct(s string) {
	if _, ok := st.distinct[s]; ok || len(st.distinct) < maxDistinct {
		st.distinct[s]++
	}
}

// Freeze ends the first pass: it fixes every column's bin edges and
// vocabulary.
func (b *Builder) Freeze() {
	if b.frozen {
		return
	}
	b.frozen = true
	for i := range b.cols {
		c, st := &b.cols[i], &b.state[i]
		if c.Kind == Numeric {
			c.Edges = quantileEdges(st.sample, b.cfg.Bins)
			st.sample = nil
		} else {
			c.Categories = topCategories(st.distinct, b.cfg.MaxCategories)
			st.distinct = nil
			// A categorical column holds strings or numeric codes; Count
			// picks by the batch's Values.
			st.strCat = stringCategories(c.Categories)
			st.numCat = numericCategories(c.Categories)
		}
		c.Counts = make([]int64, c.Bins())
		c.Min, c.Max = math.Inf(1), math.Inf(-1)
	}
}

// quantileEdges returns the interior edges splitting values into bins
// groups of equal size: sorted[⌈k·n/bins⌉] for k = 1 … bins−1 (about k·n/bins
// values lie below it), without repeats and without an edge at the minimum
// (ties leave fewer bins).
func quantileEdges(values []float64, bins int) []float64 {
	if len(values) == 0 {
		return nil
	}
	s := slices.Clone(values)
	slices.Sort(s)
	n := len(s)
	var edges []float64
	for k := 1; k < bins; k++ {
		e := s[min((k*n+bins-1)/bins, n-1)]
		if e == s[0] || (len(edges) > 0 && e == edges[len(edges)-1]) {
			continue
		}
		edges = append(edges, e)
	}
	return edges
}

// topCategories returns up to max values, most frequent first (ties in
// label order).
func topCategories(counts map[string]int64, max int) []string {
	cats := make([]string, 0, len(counts))
	for k := range counts {
		cats = append(cats, k)
	}
	slices.SortFunc(cats, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(cats) > max {
		cats = cats[:max]
	}
	return cats
}

// stringCategories maps each category to its bin.
func stringCategories(cats []string) map[string]int32 {
	m := make(map[string]int32, len(cats))
	for j, s := range cats {
		m[s] = int32(j)
	}
	return m
}

// numericCategories maps each category's float32 value to its bin; labels
// that are not numbers never match.
func numericCategories(cats []string) map[float32]int32 {
	m := make(map[float32]int32, len(cats))
	for j, s := range cats {
		if v, err := strconv.ParseFloat(s, 32); err == nil {
			m[float32(v)] = int32(j)
		}
	}
	return m
}

// Count feeds one batch of the second pass.
func (b *Builder) Count(batch *Batch) error {
	if !b.frozen {
		b.Freeze()
	}
	if err := b.check(batch); err != nil {
		return err
	}
	b.rows += int64(batch.Rows)
	for i := range b.cols {
		c, st, v := &b.cols[i], &b.state[i], &batch.Cols[i]
		c.Defaulted += v.Defaulted
		other := int32(len(c.Categories))
		switch {
		case c.Kind == Numeric:
			for _, x := range v.Floats {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					c.Missing++
					continue
				}
				c.Counts[binOf(c.Edges, x)]++
				st.moments(c, x)
			}
		case v.Strings != nil:
			for r, s := range v.Strings {
				if v.Present != nil && !v.Present[r] {
					c.Missing++
					continue
				}
				j, ok := st.strCat[s]
				if !ok {
					j = other
				}
				c.Counts[j]++
			}
		default:
			for _, x := range v.Floats {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					c.Missing++
					continue
				}
				j, ok := st.numCat[float32(x)]
				if !ok {
					j = other
				}
				c.Counts[j]++
				st.moments(c, x)
			}
		}
	}
	return nil
}

func (st *colState) moments(c *Column, x float64) {
	st.n++
	d := x - st.mean
	st.mean += d / float64(st.n)
	st.m2 += d * (x - st.mean)
	c.Min = math.Min(c.Min, x)
	c.Max = math.Max(c.Max, x)
}

// Baseline returns the baseline counted so far; schema and files describe
// it, skipped counts rows that could not be read.
func (b *Builder) Baseline(schema string, files []string, skipped int64) *Baseline {
	b.Freeze()
	out := &Baseline{
		Format: BaselineFormat, Schema: schema, Created: time.Now().UTC().Truncate(time.Second),
		Files: files, Rows: b.rows, Skipped: skipped, Bins: b.cfg.Bins,
		Columns: slices.Clone(b.cols),
	}
	for i := range out.Columns {
		c, st := &out.Columns[i], &b.state[i]
		if st.n == 0 {
			c.Min, c.Max = 0, 0
			continue
		}
		c.Mean = st.mean
		if st.n > 1 {
			c.Std = math.Sqrt(st.m2 / float64(st.n-1))
		}
	}
	return out
}
