package replay

import (
	"fmt"
	"math"
	"slices"
)

// Disagreement compares a challenger with the champion (the first model) on
// every scored row, labeled or not.
type Disagreement struct {
	Champion   string `json:"champion"`
	Challenger string `json:"challenger"`
	// Rule says when two rows' decisions differ: for classifiers, the
	// decisions score ≥ threshold differ; for regressors, the scores differ
	// by more than the tolerance.
	Rule string `json:"rule"`
	// Rows is how many rows both models scored; Differ how many of them
	// differ by Rule, and Share is Differ / Rows.
	Rows   int    `json:"rows"`
	Differ int    `json:"differ"`
	Share  Number `json:"share"`
	// Diff summarises the score differences, challenger − champion.
	Diff DiffStats `json:"diff"`
	// IDs names the rows that differ by their event id, in replay order.
	IDs []string `json:"ids"`
}

// DiffStats summarises score differences.
type DiffStats struct {
	Mean    Number `json:"mean"`
	Std     Number `json:"std"`
	MeanAbs Number `json:"mean_abs"`
	MaxAbs  Number `json:"max_abs"`
	// Percentiles of the differences (linear interpolation, as numpy's
	// percentile), at diffPercentiles.
	Percentiles []Percentile `json:"percentiles"`
	// Histogram of the differences over [min, max].
	Histogram Histogram `json:"histogram"`
}

// Percentile is one percentile of a distribution.
type Percentile struct {
	P     float64 `json:"p"`
	Value Number  `json:"value"`
}

// diffPercentiles are the percentiles DiffStats reports.
var diffPercentiles = []float64{0, 1, 5, 25, 50, 75, 95, 99, 100}

// quantile returns the reported percentile p.
func (d DiffStats) quantile(p float64) (Number, bool) {
	for _, q := range d.Percentiles {
		if q.P == p {
			return q.Value, true
		}
	}
	return nan, false
}

// Histogram counts values in equal bins between Lower and Upper; a value
// on an inner edge falls in the upper bin, the last bin includes Upper.
type Histogram struct {
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	Counts []int   `json:"counts"`
	// Positives and Negatives split Counts by label for a labeled
	// classifier; nil otherwise.
	Positives []int `json:"positives,omitempty"`
	Negatives []int `json:"negatives,omitempty"`
}

// histogramBins is the number of bins of every histogram in a report.
const histogramBins = 40

// newHistogram bins values over [lower, upper]. labels, if not nil, splits
// the counts by class (1 positive, 0 negative, NaN neither).
func newHistogram(values, labels []float64, lower, upper float64, bins int) Histogram {
	if !(upper > lower) {
		lower, upper = lower-0.5, lower+0.5
	}
	h := Histogram{Lower: lower, Upper: upper, Counts: make([]int, bins)}
	if labels != nil {
		h.Positives = make([]int, bins)
		h.Negatives = make([]int, bins)
	}
	width := (upper - lower) / float64(bins)
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		b := int((v - lower) / width)
		b = min(max(b, 0), bins-1)
		h.Counts[b]++
		if labels != nil {
			switch labels[i] {
			case 1:
				h.Positives[b]++
			case 0:
				h.Negatives[b]++
			}
		}
	}
	return h
}

// summarizeDiffs returns the statistics of differences d.
func summarizeDiffs(d []float64) DiffStats {
	st := DiffStats{Mean: nan, Std: nan, MeanAbs: nan, MaxAbs: nan}
	if len(d) == 0 {
		return st
	}
	mean, std := meanStd(d)
	var abs sum
	maxAbs := 0.0
	for _, v := range d {
		abs.add(math.Abs(v))
		maxAbs = max(maxAbs, math.Abs(v))
	}
	st.Mean, st.Std = Number(mean), Number(std)
	st.MeanAbs, st.MaxAbs = Number(abs.value()/float64(len(d))), Number(maxAbs)
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	for _, p := range diffPercentiles {
		st.Percentiles = append(st.Percentiles, Percentile{P: p, Value: Number(quantile(sorted, p))})
	}
	st.Histogram = newHistogram(d, nil, sorted[0], sorted[len(sorted)-1], histogramBins)
	return st
}

// disagree compares challenger scores b with champion scores a, row by row;
// id names row i.
func disagree(champion, challenger string, a, b []float64, id func(int) string, classifier bool, threshold, tolerance float64) Disagreement {
	d := Disagreement{Champion: champion, Challenger: challenger, Rows: len(a), IDs: []string{}}
	if classifier {
		d.Rule = fmt.Sprintf("decision score >= %g differs", threshold)
	} else {
		d.Rule = fmt.Sprintf("|score difference| > %g", tolerance)
	}
	diffs := make([]float64, len(a))
	for i := range a {
		diffs[i] = b[i] - a[i]
		var differ bool
		if classifier {
			differ = (a[i] >= threshold) != (b[i] >= threshold)
		} else {
			differ = math.Abs(diffs[i]) > tolerance || math.IsNaN(diffs[i])
		}
		if differ {
			d.Differ++
			d.IDs = append(d.IDs, id(i))
		}
	}
	d.Share = nan
	if d.Rows > 0 {
		d.Share = Number(float64(d.Differ) / float64(d.Rows))
	}
	d.Diff = summarizeDiffs(diffs)
	return d
}
