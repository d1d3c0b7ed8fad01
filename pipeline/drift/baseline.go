package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"time"
)

// BaselineFormat is the format tag written into every baseline file.
const BaselineFormat = "streamscore-drift-baseline/1"

// Kind says how a column is binned.
type Kind string

// Column kinds.
const (
	// Numeric columns are binned by the baseline's quantile edges.
	Numeric Kind = "numeric"
	// Categorical columns count each vocabulary value, and every other
	// value in one last "other" bin.
	Categorical Kind = "categorical"
)

// Source says where a column's values come from in a scored batch.
type Source string

// Column sources.
const (
	// FromFeature is a model input column (an event or feature-set feature).
	FromFeature Source = "feature"
	// FromPassthrough is a passthrough field; always categorical.
	FromPassthrough Source = "passthrough"
	// FromOutput is one element of a model output (prediction drift).
	FromOutput Source = "output"
)

// OtherLabel is the label of a categorical column's last bin, which counts
// the values outside the vocabulary.
const OtherLabel = "(other)"

// Column is one watched column of a Baseline.
type Column struct {
	// Name identifies the column in keys, metrics and events: the feature
	// or passthrough field name, or the output's scored-event name (with
	// "[i]" for element i of a multi-element output).
	Name   string `json:"name"`
	Source Source `json:"source"`
	Kind   Kind   `json:"kind"`
	// Output and Element locate a FromOutput column: the output's
	// scored-event name and the element within a row.
	Output  string `json:"output,omitempty"`
	Element int    `json:"element,omitempty"`
	// Edges are a numeric column's interior bin edges, strictly
	// increasing: value v falls in bin i, the number of edges ≤ v, so
	// there are len(Edges)+1 bins.
	Edges []float64 `json:"edges,omitempty"`
	// Categories are a categorical column's vocabulary, most frequent
	// first; bin len(Categories) counts every other value.
	Categories []string `json:"categories,omitempty"`
	// Counts are the reference counts per bin.
	Counts []int64 `json:"counts"`
	// Missing counts missing values (absent without a default, null, NaN).
	Missing int64 `json:"missing"`
	// Defaulted counts values absent from the training data that took the
	// schema's default, as the decoder does at run time; they are binned.
	Defaulted int64 `json:"defaulted,omitempty"`
	// Min, Max, Mean and Std describe a numeric column's present values.
	Min  float64 `json:"min,omitempty"`
	Max  float64 `json:"max,omitempty"`
	Mean float64 `json:"mean,omitempty"`
	Std  float64 `json:"std,omitempty"`
}

// Bins returns the number of bins.
func (c *Column) Bins() int {
	if c.Kind == Categorical {
		return len(c.Categories) + 1
	}
	return len(c.Edges) + 1
}

// Reference returns the column's reference histogram.
func (c *Column) Reference() Histogram {
	return Histogram{Counts: c.Counts, Missing: c.Missing}
}

// Bin returns the bin of numeric value v (not NaN).
func (c *Column) Bin(v float64) int { return binOf(c.Edges, v) }

// binOf returns the number of edges ≤ v: a linear count without branches
// on the data for the usual few edges (several times faster than a search
// on random data, which mispredicts), a binary search for many.
func binOf(edges []float64, v float64) int {
	if len(edges) <= 16 {
		n := 0
		for _, e := range edges {
			n += b2i(v >= e)
		}
		return n
	}
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Label returns a human name for bin i: a category, or a numeric range.
func (c *Column) Label(i int) string {
	if c.Kind == Categorical {
		if i < len(c.Categories) {
			return c.Categories[i]
		}
		return OtherLabel
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	switch {
	case len(c.Edges) == 0:
		return "all"
	case i == 0:
		return "< " + f(c.Edges[0])
	case i == len(c.Edges):
		return "≥ " + f(c.Edges[i-1])
	default:
		return "[" + f(c.Edges[i-1]) + ", " + f(c.Edges[i]) + ")"
	}
}

// Midpoints returns each numeric bin's representative point: the middle of
// its range, the outer bins bounded by the training minimum and maximum.
func (c *Column) Midpoints() []float64 {
	n := len(c.Edges)
	pts := make([]float64, n+1)
	if n == 0 {
		pts[0] = (c.Min + c.Max) / 2
		return pts
	}
	lo := math.Min(c.Min, c.Edges[0])
	hi := math.Max(c.Max, c.Edges[n-1])
	pts[0] = (lo + c.Edges[0]) / 2
	for i := 1; i < n; i++ {
		pts[i] = (c.Edges[i-1] + c.Edges[i]) / 2
	}
	pts[n] = (c.Edges[n-1] + hi) / 2
	return pts
}

// Baseline is the reference distribution of every watched column, computed
// from training data. It is written as JSON by Save and read by Load.
type Baseline struct {
	Format string `json:"format"`
	// Schema is the event schema's name/version.
	Schema string `json:"schema"`
	// Created is when the baseline was built.
	Created time.Time `json:"created"`
	// Files are the training files it was built from.
	Files []string `json:"files,omitempty"`
	// Rows counts the training rows read; Skipped those that could not be
	// read (not JSON, or a value of the wrong type).
	Rows    int64 `json:"rows"`
	Skipped int64 `json:"skipped,omitempty"`
	// Bins is the number of quantile bins asked for per numeric column
	// (ties can leave fewer).
	Bins    int      `json:"bins"`
	Columns []Column `json:"columns"`
}

// Column returns the column named name, or nil.
func (b *Baseline) Column(name string) *Column {
	for i := range b.Columns {
		if b.Columns[i].Name == name {
			return &b.Columns[i]
		}
	}
	return nil
}

// ID returns a short fingerprint of the columns' names, kinds and bins (not
// the counts). It is part of every store key, so a window never mixes
// counts binned by two different baselines.
func (b *Baseline) ID() string {
	h := sha256.New()
	for _, c := range b.Columns {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00", c.Name, c.Source, c.Kind, c.Output, c.Element)
		for _, e := range c.Edges {
			h.Write(strconv.AppendFloat(nil, e, 'g', -1, 64))
			h.Write([]byte{0})
		}
		for _, v := range c.Categories {
			h.Write([]byte(v))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// Validate reports the first inconsistency in the baseline.
func (b *Baseline) Validate() error {
	if b.Format != BaselineFormat {
		return fmt.Errorf("format %q is not %q; rebuild it with `streamscore baseline`", b.Format, BaselineFormat)
	}
	if len(b.Columns) == 0 {
		return errors.New("the baseline has no columns")
	}
	seen := map[string]bool{}
	for i := range b.Columns {
		c := &b.Columns[i]
		if c.Name == "" {
			return fmt.Errorf("columns[%d]: empty name", i)
		}
		if seen[c.Name] {
			return fmt.Errorf("column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		switch c.Kind {
		case Numeric:
			if !slices.IsSorted(c.Edges) || slices.ContainsFunc(c.Edges, math.IsNaN) {
				return fmt.Errorf("column %q: edges are not increasing", c.Name)
			}
			for j := 1; j < len(c.Edges); j++ {
				if c.Edges[j] == c.Edges[j-1] {
					return fmt.Errorf("column %q: edge %v repeats", c.Name, c.Edges[j])
				}
			}
		case Categorical:
		default:
			return fmt.Errorf("column %q: kind %q is not numeric or categorical", c.Name, c.Kind)
		}
		switch c.Source {
		case FromFeature, FromOutput:
		case FromPassthrough:
			if c.Kind != Categorical {
				return fmt.Errorf("column %q: a passthrough column must be categorical", c.Name)
			}
		default:
			return fmt.Errorf("column %q: source %q is not feature, passthrough or output", c.Name, c.Source)
		}
		if len(c.Counts) != c.Bins() {
			return fmt.Errorf("column %q: %d counts for %d bins", c.Name, len(c.Counts), c.Bins())
		}
	}
	return nil
}

// Save writes the baseline as indented JSON.
func (b *Baseline) Save(path string) error {
	out, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return fmt.Errorf("encoding baseline: %w", err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing baseline: %w", err)
	}
	return nil
}

// LoadBaseline reads and validates a baseline file.
func LoadBaseline(path string) (*Baseline, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decoding baseline %s: %w", path, err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return &b, nil
}

// categoryLabel is the vocabulary label of a numeric value of a categorical
// feature: the shortest text that round-trips its float32.
func categoryLabel(v float32) string {
	return strconv.FormatFloat(float64(v), 'g', -1, 32)
}

// b2i is 1 for true; the compiler turns it into a flag move, not a branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
