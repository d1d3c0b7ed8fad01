package drift

import (
	"fmt"
	"math"
	"strings"
)

// Score names one drift statistic.
type Score int

// The statistics computed for every column. A statistic that does not apply
// to a column (Kolmogorov–Smirnov and Wasserstein on a categorical column,
// chi-squared on a numeric one) is NaN.
const (
	// PSI is the population stability index, Σ (q−p)·ln(q/p), over
	// smoothed bin proportions (see PopulationStability). Rules of thumb: below 0.1 stable,
	// 0.1–0.2 moderate, above 0.2 a significant shift.
	PSI Score = iota
	// KS is the Kolmogorov–Smirnov statistic on the binned CDFs: the
	// largest gap between the reference and current cumulative
	// proportions, in [0, 1]. Numeric columns only.
	KS
	// JS is the Jensen–Shannon distance in base 2 (the square root of the
	// divergence), in [0, 1], as scipy.spatial.distance.jensenshannon(p, q,
	// base=2).
	JS
	// Wasserstein is the earth mover's distance between the binned
	// distributions, each bin's mass placed at its midpoint (the outer bins
	// bounded by the training minimum and maximum), divided by the
	// training standard deviation. Numeric columns only.
	Wasserstein
	// ChiSquared is Pearson's chi-squared statistic of the current counts
	// against counts expected from the (smoothed) reference proportions.
	// Categorical columns only. It grows with the number of events, so
	// thresholds on ChiSquaredP or PSI travel better.
	ChiSquared
	// ChiSquaredP is the p-value of ChiSquared with bins−1 degrees of
	// freedom; lower means more drift. Categorical columns only.
	ChiSquaredP
	// MissingRate is the absolute change in the share of missing values.
	MissingRate
	// NumScores is the number of statistics.
	NumScores
)

var scoreNames = [NumScores]string{"psi", "ks", "js", "wasserstein", "chi2", "chi2_p", "missing"}

// String returns the score's name as used in configuration, metrics labels
// and drift events.
func (s Score) String() string {
	if s < 0 || s >= NumScores {
		return fmt.Sprintf("score(%d)", int(s))
	}
	return scoreNames[s]
}

// HigherIsWorse reports whether a larger value means more drift (true for
// every score but ChiSquaredP).
func (s Score) HigherIsWorse() bool { return s != ChiSquaredP }

// ParseScore returns the score named name.
func ParseScore(name string) (Score, error) {
	for i, n := range scoreNames {
		if n == name {
			return Score(i), nil
		}
	}
	return 0, fmt.Errorf("unknown drift score %q (one of %s)", name, strings.Join(scoreNames[:], ", "))
}

// Scores holds one value per Score; NaN where a score does not apply or
// there is no data.
type Scores [NumScores]float64

// NaNScores returns Scores with every value NaN.
func NaNScores() Scores {
	var s Scores
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// Histogram is one column's counts: Counts has one entry per bin (for a
// categorical column, one per category then one for every other value);
// Missing counts missing values.
type Histogram struct {
	Counts  []int64
	Missing int64
}

// Total returns the number of values counted, missing ones included.
func (h Histogram) Total() int64 { return sum(h.Counts) + h.Missing }

// Add adds o's counts into h; both must have the same number of bins.
func (h *Histogram) Add(o Histogram) {
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.Missing += o.Missing
}

// Compare returns every score of cur against ref for column col, with
// smoothing pseudo-counts added to each bin where a zero would make a score
// infinite (PSI and chi-squared). Scores are NaN when either side has no
// present values.
func Compare(col *Column, ref, cur Histogram, smoothing float64) Scores {
	s := NaNScores()
	rn, cn := ref.Total(), cur.Total()
	if rn > 0 && cn > 0 {
		s[MissingRate] = math.Abs(float64(cur.Missing)/float64(cn) - float64(ref.Missing)/float64(rn))
	}
	if sum(ref.Counts) == 0 || sum(cur.Counts) == 0 {
		return s
	}
	s[PSI] = PopulationStability(ref.Counts, cur.Counts, smoothing)
	s[JS] = JensenShannon(ref.Counts, cur.Counts)
	if col.Kind == Categorical {
		s[ChiSquared], s[ChiSquaredP] = ChiSquare(ref.Counts, cur.Counts, smoothing)
		return s
	}
	s[KS] = KolmogorovSmirnov(ref.Counts, cur.Counts)
	w := EarthMover(ref.Counts, cur.Counts, col.Midpoints())
	if col.Std > 0 {
		w /= col.Std
	}
	s[Wasserstein] = w
	return s
}

func sum(c []int64) int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// occupied returns ref and cur without the bins empty in both: such a bin
// says nothing about change, and smoothing it would only add noise (an
// "other" category or a missing slot that training never saw).
func occupied(ref, cur []int64) ([]int64, []int64) {
	r, c := make([]int64, 0, len(ref)), make([]int64, 0, len(cur))
	for i := range ref {
		if ref[i] != 0 || cur[i] != 0 {
			r = append(r, ref[i])
			c = append(c, cur[i])
		}
	}
	return r, c
}

// smoothed returns the proportions (c_i + alpha) / (N + K·alpha).
func smoothed(c []int64, alpha float64) []float64 {
	n := float64(sum(c)) + float64(len(c))*alpha
	out := make([]float64, len(c))
	for i, v := range c {
		out[i] = (float64(v) + alpha) / n
	}
	return out
}

// PopulationStability returns the PSI of cur against ref:
//
//	PSI = Σ_i (q_i − p_i) · ln(q_i / p_i),
//	p_i = (ref_i + α) / (R + K·α),  q_i = (cur_i + α) / (C + K·α)
//
// where R and C are the totals and K the number of bins that are not empty
// on both sides (those are left out). With α = 0 a bin empty on one side
// only makes PSI +Inf. It returns NaN when either total is zero.
func PopulationStability(ref, cur []int64, alpha float64) float64 {
	if sum(ref) == 0 || sum(cur) == 0 {
		return math.NaN()
	}
	ref, cur = occupied(ref, cur)
	p, q := smoothed(ref, alpha), smoothed(cur, alpha)
	var psi float64
	for i := range p {
		switch {
		case p[i] == q[i]:
		case p[i] == 0 || q[i] == 0:
			return math.Inf(1)
		default:
			psi += (q[i] - p[i]) * math.Log(q[i]/p[i])
		}
	}
	return psi
}

// KolmogorovSmirnov returns max_k |P_k − Q_k|, where P_k and Q_k are the
// cumulative proportions of bins 0..k. It returns NaN when either total is
// zero.
func KolmogorovSmirnov(ref, cur []int64) float64 {
	rn, cn := float64(sum(ref)), float64(sum(cur))
	if rn == 0 || cn == 0 {
		return math.NaN()
	}
	var rc, cc int64
	var d float64
	for i := range ref {
		rc += ref[i]
		cc += cur[i]
		d = math.Max(d, math.Abs(float64(rc)/rn-float64(cc)/cn))
	}
	return d
}

// JensenShannon returns the Jensen–Shannon distance in base 2 between the
// bin proportions p = ref/R and q = cur/C:
//
//	sqrt( ½ Σ p_i log2(p_i/m_i) + ½ Σ q_i log2(q_i/m_i) ),  m = (p+q)/2
//
// with 0·log 0 = 0, so empty bins need no smoothing. It returns NaN when
// either total is zero.
func JensenShannon(ref, cur []int64) float64 {
	rn, cn := float64(sum(ref)), float64(sum(cur))
	if rn == 0 || cn == 0 {
		return math.NaN()
	}
	var d float64
	for i := range ref {
		p, q := float64(ref[i])/rn, float64(cur[i])/cn
		m := (p + q) / 2
		if p > 0 {
			d += p * math.Log2(p/m)
		}
		if q > 0 {
			d += q * math.Log2(q/m)
		}
	}
	return math.Sqrt(math.Max(d/2, 0))
}

// EarthMover returns the 1-Wasserstein distance between the two binned
// distributions with bin i's mass at points[i] (increasing):
//
//	W = Σ_{k=0}^{K−2} |P_k − Q_k| · (points[k+1] − points[k])
//
// with P_k, Q_k the cumulative proportions. It returns NaN when either total
// is zero.
func EarthMover(ref, cur []int64, points []float64) float64 {
	rn, cn := float64(sum(ref)), float64(sum(cur))
	if rn == 0 || cn == 0 {
		return math.NaN()
	}
	var rc, cc int64
	var w float64
	for k := 0; k+1 < len(ref); k++ {
		rc += ref[k]
		cc += cur[k]
		w += math.Abs(float64(rc)/rn-float64(cc)/cn) * (points[k+1] - points[k])
	}
	return w
}

// ChiSquare returns Pearson's chi-squared statistic of cur against the
// counts expected from ref's smoothed proportions, E_i = C · p_i with p_i as
// in PopulationStability (bins empty on both sides left out), and its
// p-value with (bins − 1) degrees of freedom. With α = 0 a bin with values
// only in cur makes the statistic +Inf and the p-value 0. It returns NaN,
// NaN when either total is zero.
func ChiSquare(ref, cur []int64, alpha float64) (stat, p float64) {
	cn := float64(sum(cur))
	if sum(ref) == 0 || cn == 0 {
		return math.NaN(), math.NaN()
	}
	ref, cur = occupied(ref, cur)
	exp := smoothed(ref, alpha)
	bins := 0
	for i, pi := range exp {
		e := cn * pi
		if e == 0 {
			if cur[i] != 0 {
				return math.Inf(1), 0
			}
			continue
		}
		bins++
		d := float64(cur[i]) - e
		stat += d * d / e
	}
	if bins <= 1 {
		return stat, 1
	}
	return stat, chiSquareSF(stat, float64(bins-1))
}

// chiSquareSF returns P(X > x) for X chi-squared with df degrees of freedom:
// the regularized upper incomplete gamma function Q(df/2, x/2).
func chiSquareSF(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	if math.IsInf(x, 1) {
		return 0
	}
	return gammaQ(df/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma function Q(a, x), by its
// series for x < a+1 and by Lentz's continued fraction otherwise (Numerical
// Recipes, §6.2).
func gammaQ(a, x float64) float64 {
	const (
		eps  = 1e-15
		tiny = 1e-300
		iter = 10000
	)
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		ap, del := a, 1/a
		s := del
		for range iter {
			ap++
			del *= x / ap
			s += del
			if math.Abs(del) < math.Abs(s)*eps {
				break
			}
		}
		return 1 - s*math.Exp(-x+a*math.Log(x)-lg)
	}
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i <= iter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}
