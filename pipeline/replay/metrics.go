package replay

import (
	"math"
	"slices"
	"strconv"
)

// Number is a metric value. NaN marks a metric the data leaves undefined
// (ROC AUC when every label is the same class, log loss of scores outside
// [0, 1]); JSON writes it as null and the text report as "n/a".
type Number float64

// MarshalJSON writes n as a JSON number, or null when it is not finite.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a JSON number, or null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// Defined reports whether n holds a value.
func (n Number) Defined() bool { return !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0) }

var nan = Number(math.NaN())

// ClassifierMetrics are a binary classifier's metrics over labeled rows. The
// definitions follow scikit-learn's, and tests hold them to its values
// (testdata/replay/make_fixtures.py).
type ClassifierMetrics struct {
	// Rows is how many labeled rows were scored; Positives how many of them
	// have label 1.
	Rows      int `json:"rows"`
	Positives int `json:"positives"`
	// ROCAUC is the area under the ROC curve (roc_auc_score): the chance
	// that a random positive scores above a random negative, ties counting
	// half. Undefined when only one class is present.
	ROCAUC Number `json:"roc_auc"`
	// PRAUC is the average precision (average_precision_score): the sum over
	// score thresholds, from high to low, of precision times the increase
	// in recall. It is the step-wise area under the precision-recall curve,
	// without the optimistic linear interpolation of the trapezoid rule.
	// Undefined without positives.
	PRAUC Number `json:"pr_auc"`
	// LogLoss is the mean cross-entropy (log_loss), with scores clipped to
	// [ε, 1−ε], ε the float64 machine epsilon. Undefined if a score lies
	// outside [0, 1].
	LogLoss Number `json:"log_loss"`
	// Brier is the mean squared difference between score and label
	// (brier_score_loss). Undefined if a score lies outside [0, 1].
	Brier Number `json:"brier"`
	// Threshold decides: a row is predicted positive when its score is at
	// least Threshold.
	Threshold float64 `json:"threshold"`
	// Accuracy, Precision, Recall and F1 of those decisions; precision,
	// recall and F1 are 0 where their denominator is (zero_division=0).
	Accuracy  Number `json:"accuracy"`
	Precision Number `json:"precision"`
	Recall    Number `json:"recall"`
	F1        Number `json:"f1"`
	// TP, FP, TN and FN are the confusion counts at Threshold.
	TP int `json:"tp"`
	FP int `json:"fp"`
	TN int `json:"tn"`
	FN int `json:"fn"`
	// Calibration splits [0, 1] into equal bins (calibration_curve with
	// strategy "uniform"; bin i holds scores in (i/n, (i+1)/n], the first
	// also 0). Nil if a score lies outside [0, 1].
	Calibration []CalibrationBin `json:"calibration"`
	// ROC is the ROC curve, at most maxCurvePoints points from (0, 0) to
	// (1, 1), for plots.
	ROC []Point `json:"-"`
	// PR is the precision-recall curve (recall, precision), one point per
	// distinct score from the highest down, at most maxCurvePoints.
	PR []Point `json:"-"`
}

// CalibrationBin is one row of a calibration table.
type CalibrationBin struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Count int     `json:"count"`
	// MeanScore and FractionPositive are calibration_curve's prob_pred and
	// prob_true; undefined for an empty bin.
	MeanScore        Number `json:"mean_score"`
	FractionPositive Number `json:"fraction_positive"`
}

// Point is one point of a curve.
type Point struct{ X, Y float64 }

// RegressorMetrics are a regressor's metrics over labeled rows, as
// scikit-learn defines them.
type RegressorMetrics struct {
	Rows int `json:"rows"`
	// RMSE is the root of the mean squared error (root_mean_squared_error).
	RMSE Number `json:"rmse"`
	// MAE is the mean absolute error (mean_absolute_error).
	MAE Number `json:"mae"`
	// R2 is the coefficient of determination (r2_score): 1 minus the
	// residual sum of squares over the total sum of squares; with constant
	// labels it is 1 for a perfect fit and 0 otherwise.
	R2 Number `json:"r2"`
	// MAPE is the mean of |label − score| / max(|label|, ε), ε the float64
	// machine epsilon (mean_absolute_percentage_error), as a fraction, not
	// a percentage; a label of 0 makes it huge, as in scikit-learn.
	MAPE Number `json:"mape"`
}

// maxCurvePoints bounds the points kept of a ROC curve.
const maxCurvePoints = 400

// sum adds values with Neumaier's compensation, so long sums match a
// pairwise or exact sum to far below the tests' 1e-9.
type sum struct{ s, c float64 }

func (k *sum) add(v float64) {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
}

func (k *sum) value() float64 { return k.s + k.c }

// Classify computes a binary classifier's metrics from labels y (0 or 1)
// and scores s (the positive-class probability, or any score for the
// ranking metrics) at threshold, with bins calibration bins.
func Classify(y, s []float64, threshold float64, bins int) ClassifierMetrics {
	m := ClassifierMetrics{Rows: len(y), Threshold: threshold}
	inUnit := true
	for i := range y {
		if y[i] == 1 {
			m.Positives++
		}
		if !(s[i] >= 0 && s[i] <= 1) {
			inUnit = false
		}
		switch pred := s[i] >= threshold; {
		case pred && y[i] == 1:
			m.TP++
		case pred:
			m.FP++
		case y[i] == 1:
			m.FN++
		default:
			m.TN++
		}
	}
	m.ROCAUC, m.PRAUC, m.ROC, m.PR = ranking(y, s, m.Positives)
	m.LogLoss, m.Brier = nan, nan
	if inUnit && len(y) > 0 {
		const eps = 0x1p-52 // numpy's finfo(float64).eps
		var ll, br sum
		for i := range y {
			p := s[i]
			q := p
			if y[i] != 1 {
				q = 1 - p
			}
			ll.add(-math.Log(min(max(q, eps), 1-eps)))
			d := y[i] - p
			br.add(d * d)
		}
		n := float64(len(y))
		m.LogLoss, m.Brier = Number(ll.value()/n), Number(br.value()/n)
		m.Calibration = calibration(y, s, bins)
	}
	m.Accuracy, m.Precision, m.Recall, m.F1 = nan, 0, 0, 0
	if len(y) > 0 {
		m.Accuracy = Number(float64(m.TP+m.TN) / float64(len(y)))
	}
	if m.TP+m.FP > 0 {
		m.Precision = Number(float64(m.TP) / float64(m.TP+m.FP))
	}
	if m.TP+m.FN > 0 {
		m.Recall = Number(float64(m.TP) / float64(m.TP+m.FN))
	}
	if d := 2*m.TP + m.FP + m.FN; d > 0 {
		m.F1 = Number(float64(2*m.TP) / float64(d))
	}
	return m
}

// ranking returns ROC AUC, average precision and the ROC curve. Both areas
// walk the distinct scores from high to low, taking each group of tied
// scores at once, as scikit-learn's _binary_clf_curve does.
func ranking(y, s []float64, positives int) (auc, ap Number, roc, pr []Point) {
	n := len(y)
	negatives := n - positives
	auc, ap = nan, nan
	if n == 0 {
		return auc, ap, nil, nil
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		// Descending scores; NaN last.
		sa, sb := s[a], s[b]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		case sa == sb:
			return 0
		case math.IsNaN(sa) && !math.IsNaN(sb):
			return 1
		case !math.IsNaN(sa) && math.IsNaN(sb):
			return -1
		}
		return 0
	})
	var (
		tp, fp         float64 // cumulative counts at the current threshold
		area           float64 // twice the ROC area, in count units
		apSum          sum
		points         = []Point{{0, 0}}
		posN, negN     = float64(positives), float64(negatives)
		prevTP, prevFP float64
	)
	for i := 0; i < n; {
		j := i
		for j < n && (s[idx[j]] == s[idx[i]] || math.IsNaN(s[idx[j]]) && math.IsNaN(s[idx[i]])) {
			if y[idx[j]] == 1 {
				tp++
			} else {
				fp++
			}
			j++
		}
		area += (fp - prevFP) * (tp + prevTP)
		if positives > 0 {
			apSum.add((tp - prevTP) / posN * (tp / (tp + fp)))
		}
		if positives > 0 && negatives > 0 {
			points = append(points, Point{fp / negN, tp / posN})
		}
		if positives > 0 {
			pr = append(pr, Point{tp / posN, tp / (tp + fp)})
		}
		prevTP, prevFP = tp, fp
		i = j
	}
	if positives > 0 && negatives > 0 {
		auc = Number(area / 2 / (posN * negN))
		roc = thin(points, maxCurvePoints)
	}
	if positives > 0 {
		ap = Number(apSum.value())
		pr = thin(pr, maxCurvePoints)
	}
	return auc, ap, roc, pr
}

// thin keeps at most max points of a curve, always its first and last.
func thin(pts []Point, max int) []Point {
	if len(pts) <= max {
		return pts
	}
	out := make([]Point, 0, max)
	step := float64(len(pts)-1) / float64(max-1)
	for i := range max - 1 {
		out = append(out, pts[int(float64(i)*step)])
	}
	return append(out, pts[len(pts)-1])
}

// calibration bins scores in [0, 1] as calibration_curve(strategy="uniform")
// does: the edges are i/bins, and a score on an inner edge belongs to the
// lower bin.
func calibration(y, s []float64, bins int) []CalibrationBin {
	if bins <= 0 {
		return nil
	}
	step := 1.0 / float64(bins) // numpy.linspace: edge i is i*step
	edges := make([]float64, bins+1)
	for i := range edges {
		edges[i] = float64(i) * step
	}
	edges[bins] = 1
	counts := make([]int, bins)
	sums := make([]sum, bins)
	trues := make([]int, bins)
	inner := edges[1:bins]
	for i, p := range s {
		// searchsorted(inner, p, side="left"): the inner edges below p.
		b, _ := slices.BinarySearch(inner, p)
		counts[b]++
		sums[b].add(p)
		if y[i] == 1 {
			trues[b]++
		}
	}
	out := make([]CalibrationBin, bins)
	for b := range out {
		out[b] = CalibrationBin{Lower: edges[b], Upper: edges[b+1], Count: counts[b], MeanScore: nan, FractionPositive: nan}
		if counts[b] > 0 {
			out[b].MeanScore = Number(sums[b].value() / float64(counts[b]))
			out[b].FractionPositive = Number(float64(trues[b]) / float64(counts[b]))
		}
	}
	return out
}

// Regress computes a regressor's metrics from labels y and predictions p.
func Regress(y, p []float64) RegressorMetrics {
	m := RegressorMetrics{Rows: len(y), RMSE: nan, MAE: nan, R2: nan, MAPE: nan}
	if len(y) == 0 {
		return m
	}
	n := float64(len(y))
	const eps = 0x1p-52
	var se, ae, ape, ys sum
	for i := range y {
		d := y[i] - p[i]
		se.add(d * d)
		ae.add(math.Abs(d))
		ape.add(math.Abs(d) / max(math.Abs(y[i]), eps))
		ys.add(y[i])
	}
	mean := ys.value() / n
	var tot sum
	for _, v := range y {
		d := v - mean
		tot.add(d * d)
	}
	m.RMSE = Number(math.Sqrt(se.value() / n))
	m.MAE = Number(ae.value() / n)
	m.MAPE = Number(ape.value() / n)
	switch res, tt := se.value(), tot.value(); {
	case tt != 0:
		m.R2 = Number(1 - res/tt)
	case res == 0:
		m.R2 = 1
	default:
		m.R2 = 0
	}
	return m
}

// quantile returns the q-th percentile (0..100) of sorted values with
// linear interpolation between closest ranks (numpy's default).
func quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * (q / 100)
	lo := math.Floor(h)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	t := h - lo
	a, b := sorted[i], sorted[i+1]
	if t >= 0.5 {
		return b - (b-a)*(1-t)
	}
	return a + (b-a)*t
}

// meanStd returns the mean and the population standard deviation (ddof 0).
func meanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	var s sum
	for _, x := range v {
		s.add(x)
	}
	mean = s.value() / float64(len(v))
	var d sum
	for _, x := range v {
		d.add((x - mean) * (x - mean))
	}
	return mean, math.Sqrt(d.value() / float64(len(v)))
}
