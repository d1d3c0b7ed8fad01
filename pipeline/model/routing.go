package model

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// scoreMain scores b with the champion, or split between champion and
// canary by key.
func (r *Router) scoreMain(ctx context.Context, l Lineup, b schemas.ScoreInput) (result, error) {
	res := result{name: l.Champion.Name(), version: l.Champion.Version()}
	var canaryRows []int
	if l.Canary != nil && b.Rows > 0 {
		for i := range b.Rows {
			key := ""
			if i < len(b.Keys) {
				key = b.Keys[i]
			}
			if InCanary(key, l.CanaryFraction) {
				canaryRows = append(canaryRows, i)
			}
		}
	}
	if len(canaryRows) == 0 {
		outs, err := r.timed(ctx, RoleChampion, l.Champion, b)
		res.outputs = outs
		return res, err
	}
	if len(canaryRows) == b.Rows {
		outs, err := r.timed(ctx, RoleCanary, l.Canary, b)
		if err == nil {
			res.outputs, res.version = outs, l.Canary.Version()
			return res, nil
		}
		r.canaryFailed(l, b.Rows, err)
		outs, err = r.timed(ctx, RoleChampion, l.Champion, b)
		res.outputs = outs
		return res, err
	}

	// Split: gather each side's rows, score both at once, merge by row.
	champRows := make([]int, 0, b.Rows-len(canaryRows))
	for i, j := 0, 0; i < b.Rows; i++ {
		if j < len(canaryRows) && canaryRows[j] == i {
			j++
			continue
		}
		champRows = append(champRows, i)
	}
	var (
		canOuts []Output
		canErr  error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		canOuts, canErr = r.timed(ctx, RoleCanary, l.Canary, b.Take(canaryRows))
	})
	champOuts, err := r.timed(ctx, RoleChampion, l.Champion, b.Take(champRows))
	wg.Wait()
	if err != nil {
		return result{}, err
	}
	if canErr == nil {
		canErr = sameShape(champOuts, canOuts)
	}
	if canErr != nil {
		r.canaryFailed(l, len(canaryRows), canErr)
		canOuts, err = r.timed(ctx, RoleChampion, l.Champion, b.Take(canaryRows))
		if err != nil {
			return result{}, err
		}
		res.outputs = merge(b.Rows, champRows, champOuts, canaryRows, canOuts)
		return res, nil
	}
	res.outputs = merge(b.Rows, champRows, champOuts, canaryRows, canOuts)
	res.versions = make([]string, b.Rows)
	for _, i := range champRows {
		res.versions[i] = l.Champion.Version()
	}
	for _, i := range canaryRows {
		res.versions[i] = l.Canary.Version()
	}
	return res, nil
}

func (r *Router) canaryFailed(l Lineup, rows int, err error) {
	r.m.canaryFallbacks.WithLabelValues(l.Champion.Name()).Add(float64(rows))
	r.log.Warn("canary failed; its rows are scored by the champion", "canary_version", l.Canary.Version(), "champion_version", l.Champion.Version(), "rows", rows, "err", err)
}

func (r *Router) timed(ctx context.Context, role Role, m *Model, b schemas.ScoreInput) ([]Output, error) {
	rows := b.Rows
	start := time.Now()
	outs, err := m.ScoreBatch(ctx, b)
	r.m.inference.WithLabelValues(m.Name(), string(role)).Observe(time.Since(start).Seconds())
	if err == nil {
		r.m.rows.WithLabelValues(m.Name(), string(role), m.Version()).Add(float64(rows))
	}
	return outs, err
}

func sameShape(a, b []Output) error {
	if len(a) != len(b) {
		return fmt.Errorf("the canary returned %d outputs, the champion %d", len(b), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Width != b[i].Width {
			return fmt.Errorf("the canary returned %s/%d where the champion returned %s/%d", b[i].Name, b[i].Width, a[i].Name, a[i].Width)
		}
		if (a[i].Strings == nil) != (b[i].Strings == nil) || !slices.Equal(a[i].Keys, b[i].Keys) {
			return fmt.Errorf("the canary's output %s is %s, the champion's %s", b[i].Name, describeOutput(b[i]), describeOutput(a[i]))
		}
	}
	return nil
}

// merge lays two sides' outputs back in row order: values, class labels
// of string outputs, and the classes of ZipMap outputs (the same on both
// sides, as sameShape checked).
func merge(rows int, aRows []int, a []Output, bRows []int, b []Output) []Output {
	out := make([]Output, len(a))
	for i := range a {
		w := a[i].Width
		o := Output{Name: a[i].Name, Width: w, Type: a[i].Type, Values: make([]float64, rows*w), Keys: a[i].Keys}
		for k, r := range aRows {
			copy(o.Values[r*w:(r+1)*w], a[i].Values[k*w:(k+1)*w])
		}
		for k, r := range bRows {
			copy(o.Values[r*w:(r+1)*w], b[i].Values[k*w:(k+1)*w])
		}
		if a[i].Strings != nil {
			o.Strings = make([]string, rows*w)
			for k, r := range aRows {
				copy(o.Strings[r*w:(r+1)*w], a[i].Strings[k*w:(k+1)*w])
			}
			for k, r := range bRows {
				copy(o.Strings[r*w:(r+1)*w], b[i].Strings[k*w:(k+1)*w])
			}
		}
		out[i] = o
	}
	return out
}
