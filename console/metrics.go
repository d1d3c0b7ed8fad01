package console

import (
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// families indexes one gather by metric name.
type families map[string]*dto.MetricFamily

func index(mfs []*dto.MetricFamily) families {
	f := make(families, len(mfs))
	for _, mf := range mfs {
		f[mf.GetName()] = mf
	}
	return f
}

// label returns the value of label name on m, or "".
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value returns a counter's, gauge's or untyped metric's value.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// sum adds the values of every series of name; ok is false when the metric
// is absent.
func (f families) sum(name string) (total float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		total += value(m)
	}
	return total, true
}

// by adds the values of name's series grouped by one label.
func (f families) by(name, lbl string) map[string]float64 {
	mf := f[name]
	if mf == nil {
		return nil
	}
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		out[label(m, lbl)] += value(m)
	}
	return out
}

// histogram merges every series of a histogram family (all label values).
func (f families) histogram(name string, match func(*dto.Metric) bool) *hist {
	mf := f[name]
	if mf == nil {
		return nil
	}
	var h *hist
	for _, m := range mf.GetMetric() {
		if m.Histogram == nil || (match != nil && !match(m)) {
			continue
		}
		if h == nil {
			h = &hist{}
		}
		h.add(m.Histogram)
	}
	return h
}

// hist is a cumulative histogram: upper bounds and counts at or below them.
type hist struct {
	upper []float64
	cum   []float64
	count float64
	sum   float64
}

func (h *hist) add(p *dto.Histogram) {
	if h.upper == nil {
		for _, b := range p.GetBucket() {
			h.upper = append(h.upper, b.GetUpperBound())
			h.cum = append(h.cum, 0)
		}
	}
	for i, b := range p.GetBucket() {
		if i < len(h.cum) && b.GetUpperBound() == h.upper[i] {
			h.cum[i] += float64(b.GetCumulativeCount())
		}
	}
	h.count += float64(p.GetSampleCount())
	h.sum += p.GetSampleSum()
}

// sub returns h minus an earlier sample of the same histogram (for a
// quantile over the last interval); prev may be nil.
func (h *hist) sub(prev *hist) *hist {
	if h == nil || prev == nil || len(prev.cum) != len(h.cum) || prev.count > h.count {
		return h
	}
	d := &hist{upper: h.upper, cum: make([]float64, len(h.cum)), count: h.count - prev.count, sum: h.sum - prev.sum}
	for i := range h.cum {
		d.cum[i] = h.cum[i] - prev.cum[i]
	}
	return d
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: linear interpolation inside the bucket that holds it. It returns NaN
// for an empty histogram and the highest finite bound when the quantile
// falls in the +Inf bucket.
func (h *hist) quantile(q float64) float64 {
	if h == nil || h.count == 0 || len(h.upper) == 0 {
		return math.NaN()
	}
	rank := q * h.count
	i := sort.Search(len(h.cum), func(i int) bool { return h.cum[i] >= rank })
	if i == len(h.cum) {
		return h.upper[len(h.upper)-1]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = h.upper[i-1], h.cum[i-1]
	}
	hi := h.upper[i]
	if math.IsInf(hi, 1) {
		return lo
	}
	n := h.cum[i] - below
	if n <= 0 {
		return hi
	}
	return lo + (hi-lo)*(rank-below)/n
}

// mean returns the histogram's average observation, or NaN when empty.
func (h *hist) mean() float64 {
	if h == nil || h.count == 0 {
		return math.NaN()
	}
	return h.sum / h.count
}

// closeReasons finds the batcher's close-reason counter by shape, so the
// console works with or without it: a streamscore_pipeline_batch* counter
// whose name mentions closing and that has a "reason" label.
func (f families) closeReasons() map[string]float64 {
	names := make([]string, 0, 2)
	for name, mf := range f {
		if strings.HasPrefix(name, "streamscore_pipeline_batch") && strings.Contains(name, "clos") && mf.GetType() == dto.MetricType_COUNTER {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if m := f.by(name, "reason"); len(m) > 0 {
			if _, unlabelled := m[""]; !unlabelled {
				return m
			}
		}
	}
	return nil
}
