package pipeline

import (
	"math"
	"sync"
	"time"
)

// costDecay is the weight each new observation takes in the cost model: the
// model follows a change of model or machine load within a few dozen
// batches.
const costDecay = 0.05

// costModel learns the time to score a batch of n rows as perCall + perRow×n
// by exponentially weighted least squares over the batches scored so far.
// It is safe for concurrent use.
type costModel struct {
	mu sync.Mutex
	// Weighted sums of 1, n, t, n² and n×t, t in seconds.
	w, sn, st, snn, snt float64
}

// observe records that a batch of n rows took d to score.
func (c *costModel) observe(n int, d time.Duration) {
	if n <= 0 || d < 0 {
		return
	}
	x, t := float64(n), d.Seconds()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := 1 - costDecay
	c.w = c.w*k + 1
	c.sn = c.sn*k + x
	c.st = c.st*k + t
	c.snn = c.snn*k + x*x
	c.snt = c.snt*k + x*t
}

// coefficients returns the per-call and per-row cost, both at least zero;
// ok is false before the first observation. While every batch had the same
// size the split cannot be known, and all the cost is taken as per-row,
// which caps batches soonest.
func (c *costModel) coefficients() (perCall, perRow float64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == 0 {
		return 0, 0, false
	}
	meanN, meanT := c.sn/c.w, c.st/c.w
	varN := c.snn/c.w - meanN*meanN
	if varN <= 1e-9*meanN*meanN {
		return 0, meanT / meanN, true
	}
	perRow = (c.snt/c.w - meanN*meanT) / varN
	if perRow < 0 {
		return meanT, 0, true
	}
	perCall = meanT - perRow*meanN
	if perCall < 0 {
		return 0, meanT / meanN, true
	}
	return perCall, perRow, true
}

// predict returns the expected time to score n rows; zero before the first
// observation.
func (c *costModel) predict(n int) time.Duration {
	a, b, ok := c.coefficients()
	if !ok {
		return 0
	}
	return time.Duration((a + b*float64(n)) * float64(time.Second))
}

// rowsWithin returns the largest batch expected to score within d, at least
// 1 and at most limit; limit before the first observation.
func (c *costModel) rowsWithin(d time.Duration, limit int) int {
	a, b, ok := c.coefficients()
	if !ok || b == 0 {
		return limit
	}
	n := (d.Seconds() - a) / b
	switch {
	case n < 1 || math.IsNaN(n):
		return 1
	case n >= float64(limit):
		return limit
	}
	return int(n)
}
