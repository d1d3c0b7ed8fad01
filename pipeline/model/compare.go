package model

import "math"

// compare counts, on the first output, the rows where champion and
// challenger agree: for one value per row, on the same side of the
// champion's threshold when its manifest sets one, else equal within the
// relative tolerance; for several values (class probabilities), the same
// arg-max.
func (r *Router) compare(champion *Model, a, b []Output, rows int) {
	name := champion.Name()
	if len(a) == 0 || len(b) == 0 || a[0].Width != b[0].Width || len(a[0].Values) != len(b[0].Values) {
		r.m.challengerErrors.WithLabelValues(name).Inc()
		return
	}
	var threshold *float64
	if man := champion.Manifest(); man != nil {
		threshold = man.Threshold
	}
	w := a[0].Width
	agreed := 0
	absDiff := r.m.absDiff.WithLabelValues(name)
	for row := range rows {
		x, y := a[0].Values[row*w:(row+1)*w], b[0].Values[row*w:(row+1)*w]
		var diff float64
		for j := range x {
			diff = max(diff, math.Abs(x[j]-y[j]))
		}
		absDiff.Observe(diff)
		var ok bool
		switch {
		case w > 1:
			ok = argmax(x) == argmax(y)
		case threshold != nil:
			ok = (x[0] >= *threshold) == (y[0] >= *threshold)
		default:
			ok = diff <= r.opts.Tolerance*max(1, math.Abs(x[0]))
		}
		if ok {
			agreed++
		}
	}
	r.m.compared.WithLabelValues(name).Add(float64(rows))
	r.m.agreed.WithLabelValues(name).Add(float64(agreed))
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
