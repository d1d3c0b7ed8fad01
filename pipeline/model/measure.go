package model

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"
)

// Measurement is what Measure found.
type Measurement struct {
	// Open is the median time to open one session, of five.
	Open time.Duration
	// RowsPerSec is the scoring throughput.
	RowsPerSec float64
}

// Measure opens cfg five times (one session each) and keeps the median
// open time, then scores rows-row batches of random data for d.
//
// It needs one float32 [N, F] input with a fixed F, and blocks for about d.
func Measure(ctx context.Context, cfg Config, rows int, d time.Duration) (Measurement, error) {
	var opens []time.Duration
	var m *Model
	for i := range 5 {
		start := time.Now()
		mm, err := Open(cfg)
		if err != nil {
			return Measurement{}, err
		}
		opens = append(opens, time.Since(start))
		if i < 4 {
			mm.Close()
		} else {
			m = mm
		}
	}
	defer m.Close()
	slices.Sort(opens)
	ins := m.Inputs()
	if len(ins) != 1 || len(ins[0].Shape) != 2 || ins[0].Shape[1] < 1 {
		return Measurement{}, errors.New("measuring: the model needs one [N, F] input with a fixed F")
	}
	cols := int(ins[0].Shape[1])
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for range 20 { // warm up
		if _, err := m.Score(ctx, x, rows, cols); err != nil {
			return Measurement{}, err
		}
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := m.Score(ctx, x, rows, cols); err != nil {
			return Measurement{}, err
		}
		n++
	}
	return Measurement{Open: opens[len(opens)/2], RowsPerSec: float64(n*rows) / time.Since(start).Seconds()}, nil
}
