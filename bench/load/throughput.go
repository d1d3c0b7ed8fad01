package load

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Progress is one reading of a topic's record count.
type Progress struct {
	At    time.Time
	Count int64
	// CPU is the CPU time each watched process (MeasureConfig.Watch) had
	// used by then.
	CPU []time.Duration
}

// Throughput is a rate measured from a topic's count readings.
type Throughput struct {
	// Rate is records per second between From and To.
	Rate     float64
	From, To Progress
	// Complete reports whether the target count was reached (rather than
	// the time limit).
	Complete bool
	// StartUp reports that the run ended within its warm-up, so the rate
	// was measured from MeasureConfig.Origin, start-up included: a lower
	// bound, and a sign that the run needs more records.
	StartUp bool
	Series  []Progress
}

// MeasureConfig says how Measure reads a run.
type MeasureConfig struct {
	// Target is the count at which the run is complete.
	Target int64
	// Warmup is how long after the first record readings are still
	// start-up (joining the group, filling queues), not sustained
	// throughput; the rate is measured from the first reading after it.
	// Zero means 1 s.
	Warmup time.Duration
	// Limit bounds the measured window (after Warmup); zero means no
	// limit.
	Limit time.Duration
	// StartTimeout bounds the wait for the first record; zero means 2 min.
	StartTimeout time.Duration
	// Poll is the time between readings; zero means 50 ms.
	Poll time.Duration
	// Watch lists processes whose CPU time each reading records.
	Watch []int
	// Exited, if not nil, ends the measurement with an error when it is
	// closed before the target is reached (the process under test died).
	Exited <-chan struct{}
	// Origin, if not nil, is a reading taken before the process under test
	// started (its CPU entries as Watch lists them). A run that reaches
	// the target before the warm-up has passed is measured from it rather
	// than failing (Throughput.StartUp).
	Origin *Progress
}

// CPUPerRecord returns the CPU time watched process i used per record
// between From and To.
func (t Throughput) CPUPerRecord(i int) time.Duration {
	n := t.To.Count - t.From.Count
	if n <= 0 || i >= len(t.To.CPU) || i >= len(t.From.CPU) {
		return 0
	}
	return (t.To.CPU[i] - t.From.CPU[i]) / time.Duration(n)
}

// Seconds returns the length of the measured window.
func (t Throughput) Seconds() float64 { return t.To.At.Sub(t.From.At).Seconds() }

// Count is what Measure polls: how many records are done so far. *Counter
// (a topic's end offsets) and *CommittedCounter (a group's committed
// offsets) are Counts.
type Count interface {
	Count(ctx context.Context) (int64, error)
}

// Measure polls c until the count reaches cfg.Target or cfg.Limit has
// passed, and returns the sustained rate.
func Measure(ctx context.Context, c Count, cfg MeasureConfig) (Throughput, error) {
	if cfg.Warmup == 0 {
		cfg.Warmup = time.Second
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.Poll == 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	var out Throughput
	t := time.NewTicker(cfg.Poll)
	defer t.Stop()
	started := time.Now()
	var first time.Time
	for {
		n, err := c.Count(ctx)
		if err != nil {
			return out, err
		}
		now := time.Now()
		p := Progress{At: now, Count: n}
		for _, pid := range cfg.Watch {
			u, _ := ReadUsage(pid)
			p.CPU = append(p.CPU, u.CPU)
		}
		out.Series = append(out.Series, p)
		if n > 0 && first.IsZero() {
			first = now
		}
		if out.From.At.IsZero() && !first.IsZero() && now.Sub(first) >= cfg.Warmup {
			out.From = p
		}
		done := n >= cfg.Target
		if !done && cfg.Limit > 0 && !out.From.At.IsZero() && now.Sub(out.From.At) >= cfg.Limit {
			done = true
		}
		if done {
			out.To = p
			out.Complete = n >= cfg.Target
			if out.From.At.IsZero() {
				out.From = out.Series[0]
				if cfg.Origin != nil && out.From.Count >= out.To.Count {
					out.From, out.StartUp = *cfg.Origin, true
				}
			}
			if d := out.To.At.Sub(out.From.At).Seconds(); d > 0 && out.To.Count > out.From.Count {
				out.Rate = float64(out.To.Count-out.From.Count) / d
			} else {
				return out, errors.New("measuring throughput: the run ended before the rate could be measured; use more events")
			}
			return out, nil
		}
		if first.IsZero() && now.Sub(started) > cfg.StartTimeout {
			return out, fmt.Errorf("measuring throughput: no record arrived within %s", cfg.StartTimeout)
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-cfg.Exited:
			return out, fmt.Errorf("measuring throughput: the process exited with %d of %d records written", n, cfg.Target)
		case <-t.C:
		}
	}
}
