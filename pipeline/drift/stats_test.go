package drift

import (
	"math"
	"testing"
)

const tol = 1e-9

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	switch {
	case math.IsNaN(want):
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", what, got)
		}
	case math.IsInf(want, 0):
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	case math.Abs(got-want) > tol*math.Max(1, math.Abs(want)):
		t.Errorf("%s = %.17g, want %.17g (diff %.3g)", what, got, want, got-want)
	}
}

// The reference values below are worked by hand or computed by textbook
// formulas written out here, independently of the package's code.

// textbookPSI is Σ (q−p) ln(q/p) over proportions with alpha added to
// every count.
func textbookPSI(ref, cur []float64, alpha float64) float64 {
	var rn, cn float64
	for i := range ref {
		rn += ref[i] + alpha
		cn += cur[i] + alpha
	}
	var psi float64
	for i := range ref {
		p, q := (ref[i]+alpha)/rn, (cur[i]+alpha)/cn
		psi += (q - p) * math.Log(q/p)
	}
	return psi
}

// textbookJS is sqrt(JSD) in bits, with KL written in natural logs and
// divided by ln 2.
func textbookJS(ref, cur []float64) float64 {
	var rn, cn float64
	for i := range ref {
		rn += ref[i]
		cn += cur[i]
	}
	kl := func(a, m float64) float64 {
		if a == 0 {
			return 0
		}
		return a * math.Log(a/m) / math.Ln2
	}
	var d float64
	for i := range ref {
		p, q := ref[i]/rn, cur[i]/cn
		m := 0.5 * (p + q)
		d += 0.5*kl(p, m) + 0.5*kl(q, m)
	}
	return math.Sqrt(d)
}

// chi2SurvivalEvenDF is P(X > x) for X ~ χ²(2k), in closed form:
// e^{-x/2} Σ_{j<k} (x/2)^j / j!.
func chi2SurvivalEvenDF(x float64, df int) float64 {
	k := df / 2
	term, s := 1.0, 0.0
	for j := 0; j < k; j++ {
		if j > 0 {
			term *= (x / 2) / float64(j)
		}
		s += term
	}
	return math.Exp(-x/2) * s
}

func TestStatisticsOnFixedHistograms(t *testing.T) {
	tests := []struct {
		name     string
		ref, cur []int64
		alpha    float64
		points   []float64
		psi      float64
		ks       float64
		js       float64
		emd      float64
		chi2, p  float64
		// pOf, if set, gives the p-value from the statistic instead of p
		pOf func(chi2 float64) float64
	}{
		{
			// p = (.5,.5), q = (.25,.75): PSI = .25·ln 2 + .25·ln 1.5 = .25·ln 3;
			// KS = .25; EMD with points 0,1 = .25; χ² = 25²/50·2 = 25, 1 df,
			// p = erfc(√12.5).
			name: "two bins, worked by hand",
			ref:  []int64{50, 50}, cur: []int64{25, 75}, alpha: 0, points: []float64{0, 1},
			psi: 0.25 * math.Log(3), ks: 0.25, js: 0.22089576884901735, emd: 0.25,
			chi2: 25, p: math.Erfc(math.Sqrt(25.0 / 2)),
		},
		{
			name: "empty bins with smoothing",
			ref:  []int64{10, 0, 30}, cur: []int64{0, 5, 5}, alpha: 0.5, points: []float64{-1, 0, 2},
			psi: textbookPSI([]float64{10, 0, 30}, []float64{0, 5, 5}, 0.5),
			// cumulative: ref .25, .25, 1; cur 0, .5, 1
			ks:  0.25,
			js:  textbookJS([]float64{10, 0, 30}, []float64{0, 5, 5}),
			emd: 0.25*1 + 0.25*2,
			chi2: func() float64 {
				e := []float64{10 * 10.5 / 41.5, 10 * 0.5 / 41.5, 10 * 30.5 / 41.5}
				c := []float64{0, 5, 5}
				var x float64
				for i := range e {
					x += (c[i] - e[i]) * (c[i] - e[i]) / e[i]
				}
				return x
			}(),
			// 3 bins, 2 degrees of freedom: p = e^{-χ²/2}
			pOf: func(x float64) float64 { return math.Exp(-x / 2) },
		},
		{
			name: "bins empty on both sides are left out",
			ref:  []int64{10, 0, 0, 30, 0}, cur: []int64{0, 5, 0, 5, 0}, alpha: 0.5, points: []float64{-1, 0, 1, 2, 3},
			psi: textbookPSI([]float64{10, 0, 30}, []float64{0, 5, 5}, 0.5),
			ks:  0.25,
			js:  textbookJS([]float64{10, 0, 30}, []float64{0, 5, 5}),
			// the empty bin at 1 moves no mass: .25·1 + .25·(2−0)
			emd: 0.25*1 + 0.25*2,
			chi2: func() float64 {
				e := []float64{10 * 10.5 / 41.5, 10 * 0.5 / 41.5, 10 * 30.5 / 41.5}
				c := []float64{0, 5, 5}
				var x float64
				for i := range e {
					x += (c[i] - e[i]) * (c[i] - e[i]) / e[i]
				}
				return x
			}(),
			pOf: func(x float64) float64 { return math.Exp(-x / 2) },
		},
		{
			name: "empty bins without smoothing are infinite",
			ref:  []int64{10, 0, 30}, cur: []int64{0, 5, 5}, alpha: 0, points: []float64{0, 1, 2},
			psi: math.Inf(1), ks: 0.25, js: textbookJS([]float64{10, 0, 30}, []float64{0, 5, 5}), emd: 0.25 + 0.25,
			chi2: math.Inf(1), p: 0,
		},
		{
			name: "zero reference count in one bin, smoothed",
			ref:  []int64{0, 40, 60, 0, 100}, cur: []int64{3, 30, 70, 2, 95}, alpha: 1, points: []float64{0, 1, 2, 3, 4},
			psi: textbookPSI([]float64{0, 40, 60, 0, 100}, []float64{3, 30, 70, 2, 95}, 1),
			ks:  math.Max(math.Max(math.Abs(0-3.0/200), math.Abs(40.0/200-33.0/200)), math.Max(math.Abs(100.0/200-103.0/200), math.Abs(100.0/200-105.0/200))),
			js:  textbookJS([]float64{0, 40, 60, 0, 100}, []float64{3, 30, 70, 2, 95}),
			emd: math.Abs(0-3.0/200) + math.Abs(40.0/200-33.0/200) + math.Abs(100.0/200-103.0/200) + math.Abs(100.0/200-105.0/200),
			chi2: func() float64 {
				ref := []float64{0, 40, 60, 0, 100}
				cur := []float64{3, 30, 70, 2, 95}
				var x float64
				for i := range ref {
					e := 200 * (ref[i] + 1) / 205
					x += (cur[i] - e) * (cur[i] - e) / e
				}
				return x
			}(),
			pOf: func(x float64) float64 { return chi2SurvivalEvenDF(x, 4) },
		},
		{
			name: "single bin",
			ref:  []int64{7}, cur: []int64{3}, alpha: 0.5, points: []float64{0},
			psi: 0, ks: 0, js: 0, emd: 0, chi2: 0, p: 1,
		},
		{
			name: "identical distributions",
			ref:  []int64{10, 20, 30}, cur: []int64{1, 2, 3}, alpha: 0, points: []float64{0, 1, 2},
			psi: 0, ks: 0, js: 0, emd: 0, chi2: 0, p: 1,
		},
		{
			name: "no current values",
			ref:  []int64{10, 20}, cur: []int64{0, 0}, alpha: 0.5, points: []float64{0, 1},
			psi: math.NaN(), ks: math.NaN(), js: math.NaN(), emd: math.NaN(), chi2: math.NaN(), p: math.NaN(),
		},
		{
			name: "no reference values",
			ref:  []int64{0, 0}, cur: []int64{4, 1}, alpha: 0.5, points: []float64{0, 1},
			psi: math.NaN(), ks: math.NaN(), js: math.NaN(), emd: math.NaN(), chi2: math.NaN(), p: math.NaN(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "PSI", PopulationStability(tc.ref, tc.cur, tc.alpha), tc.psi)
			near(t, "KS", KolmogorovSmirnov(tc.ref, tc.cur), tc.ks)
			near(t, "JS", JensenShannon(tc.ref, tc.cur), tc.js)
			near(t, "EMD", EarthMover(tc.ref, tc.cur, tc.points), tc.emd)
			chi2, p := ChiSquare(tc.ref, tc.cur, tc.alpha)
			near(t, "chi2", chi2, tc.chi2)
			wantP := tc.p
			if tc.pOf != nil {
				wantP = tc.pOf(tc.chi2)
			}
			near(t, "chi2 p", p, wantP)
		})
	}
}

func TestChiSquareSurvival(t *testing.T) {
	tests := []struct {
		x    float64
		df   int
		want float64
	}{
		{3.841458820694124, 1, 0.05},
		{6.634896601021214, 1, 0.01},
		{10, 4, chi2SurvivalEvenDF(10, 4)},
		{0.5, 6, chi2SurvivalEvenDF(0.5, 6)},
		{40, 10, chi2SurvivalEvenDF(40, 10)},
		{150, 50, chi2SurvivalEvenDF(150, 50)},
		{2, 1, math.Erfc(1)},
	}
	for _, tc := range tests {
		near(t, "chi2 sf", chiSquareSF(tc.x, float64(tc.df)), tc.want)
	}
}

func TestCompareNormalisesWassersteinAndMissingRate(t *testing.T) {
	col := &Column{Name: "x", Kind: Numeric, Source: FromFeature, Edges: []float64{0}, Min: -1, Max: 1, Std: 0.5}
	ref := Histogram{Counts: []int64{50, 50}, Missing: 10}
	cur := Histogram{Counts: []int64{25, 75}, Missing: 5}
	s := Compare(col, ref, cur, 0)
	// midpoints -0.5 and 0.5: EMD .25 in units, /std .5 = .5
	near(t, "wasserstein", s[Wasserstein], 0.5)
	near(t, "missing", s[MissingRate], math.Abs(5.0/105-10.0/110))
	near(t, "psi", s[PSI], 0.25*math.Log(3))
	if !math.IsNaN(s[ChiSquared]) || !math.IsNaN(s[ChiSquaredP]) {
		t.Errorf("chi-squared on a numeric column = %v, %v; want NaN", s[ChiSquared], s[ChiSquaredP])
	}
	cat := &Column{Name: "c", Kind: Categorical, Source: FromPassthrough, Categories: []string{"a"}}
	s = Compare(cat, Histogram{Counts: []int64{50, 50}}, Histogram{Counts: []int64{25, 75}}, 0)
	near(t, "chi2", s[ChiSquared], 25)
	if !math.IsNaN(s[KS]) || !math.IsNaN(s[Wasserstein]) {
		t.Errorf("KS, Wasserstein on a categorical column = %v, %v; want NaN", s[KS], s[Wasserstein])
	}
}

func TestScoreNames(t *testing.T) {
	for s := range NumScores {
		got, err := ParseScore(s.String())
		if err != nil || got != s {
			t.Errorf("ParseScore(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseScore("nope"); err == nil {
		t.Error("ParseScore(nope) succeeded")
	}
}
