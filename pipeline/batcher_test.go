package pipeline

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func msg(p int, off int64, size int) schemas.Message {
	return schemas.Message{Topic: "t", Partition: p, Offset: off, Prev: off - 1, Value: make([]byte, size)}
}

// recv returns the next batch if one is ready now (after the bubble settles).
func recv(out <-chan *Batch) *Batch {
	synctest.Wait()
	select {
	case b := <-out:
		return b
	default:
		return nil
	}
}

func TestPolicyBatch(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		// feed sends messages and advances time; it returns the expected batch sizes in order.
		feed func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch)
	}{
		{
			name:   "flush on rows",
			policy: Policy{Mode: ModeFixed, MaxRows: 3, MaxBytes: 1 << 20, MaxWait: time.Second},
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch) {
				for i := range 7 {
					in <- msg(0, int64(i), 10)
				}
				for _, want := range []int{3, 3} {
					b := recv(out)
					if b == nil || len(b.Msgs) != want {
						t.Fatalf("got batch %v, want %d rows", b, want)
					}
				}
				if b := recv(out); b != nil {
					t.Fatalf("got a third batch of %d rows before the deadline", len(b.Msgs))
				}
			},
		},
		{
			name:   "flush on bytes",
			policy: Policy{Mode: ModeFixed, MaxRows: 100, MaxBytes: 250, MaxWait: time.Second},
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch) {
				in <- msg(0, 0, 100)
				in <- msg(0, 1, 100)
				if b := recv(out); b != nil {
					t.Fatalf("flushed at 200 bytes, under max_bytes 250")
				}
				in <- msg(0, 2, 100)
				b := recv(out)
				if b == nil || len(b.Msgs) != 3 || b.Bytes != 300 {
					t.Fatalf("got %+v, want 3 rows / 300 bytes", b)
				}
			},
		},
		{
			name:   "flush on the deadline counted from the first event",
			policy: Policy{Mode: ModeFixed, MaxRows: 100, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond},
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch) {
				in <- msg(0, 0, 10)
				time.Sleep(15 * time.Millisecond)
				in <- msg(1, 0, 10) // a later event must not push the deadline back
				time.Sleep(5*time.Millisecond - time.Nanosecond)
				if b := recv(out); b != nil {
					t.Fatalf("flushed %v before max_wait", time.Duration(0))
				}
				time.Sleep(time.Nanosecond)
				b := recv(out)
				if b == nil || len(b.Msgs) != 2 {
					t.Fatalf("got %v at the deadline, want 2 rows", b)
				}
				if len(b.Spans) != 2 {
					t.Fatalf("got %d spans, want one per partition (2)", len(b.Spans))
				}
				// The next batch's clock starts at its own first event.
				time.Sleep(time.Hour)
				in <- msg(0, 1, 10)
				time.Sleep(19 * time.Millisecond)
				if b := recv(out); b != nil {
					t.Fatalf("second batch flushed early")
				}
				time.Sleep(time.Millisecond)
				if b := recv(out); b == nil || len(b.Msgs) != 1 {
					t.Fatalf("second batch: got %v, want 1 row", b)
				}
			},
		},
		{
			name:   "partial batch flushed when the input closes",
			policy: Policy{Mode: ModeFixed, MaxRows: 100, MaxBytes: 1 << 20, MaxWait: time.Hour},
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch) {
				in <- msg(0, 0, 10)
				in <- msg(0, 1, 10)
				close(in)
				b := recv(out)
				if b == nil || len(b.Msgs) != 2 {
					t.Fatalf("got %v, want the partial batch of 2 rows", b)
				}
				if s := b.Spans[0]; s.Prev != -1 || s.Last != 1 || s.Count != 2 {
					t.Fatalf("span %+v, want (-1, 1] with 2 messages", s)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := make(chan schemas.Message, 100)
				out := make(chan *Batch, 100)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- tc.policy.Batch(ctx, in, out) }()
				tc.feed(t, in, out)
				cancel()
				<-done
			})
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"default", DefaultPolicy, true},
		{"zero rows", Policy{MaxRows: 0, MaxBytes: 1, MaxWait: 1}, false},
		{"zero bytes", Policy{MaxRows: 1, MaxBytes: 0, MaxWait: 1}, false},
		{"zero wait", Policy{MaxRows: 1, MaxBytes: 1, MaxWait: 0}, false},
		{"zero fields take the defaults", Policy{}.WithDefaults(), true},
		{"fixed", Policy{Mode: ModeFixed, MaxRows: 1, MaxBytes: 1, MaxWait: 1}, true},
		{"unknown mode", Policy{Mode: "eager", MaxRows: 1, MaxBytes: 1, MaxWait: 1}, false},
		{"negative target", Policy{MaxRows: 1, MaxBytes: 1, MaxWait: 1, TargetLatency: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// closeLog records the batches a policy closes.
type closeLog struct {
	reasons []string
	rows    []int
}

func (c *closeLog) closed(reason string, rows int) {
	c.reasons = append(c.reasons, reason)
	c.rows = append(c.rows, rows)
}

// size returns b's rows, -1 for no batch.
func size(b *Batch) int {
	if b == nil {
		return -1
	}
	return len(b.Msgs)
}

// teach gives the cost model batches that cost 2 ms per call and 0.1 ms
// per row.
func teach(l *stagesLoad) {
	for range 20 {
		l.cost.observe(10, 3*time.Millisecond)
		l.cost.observe(100, 12*time.Millisecond)
	}
}

func TestPolicyAdaptive(t *testing.T) {
	adaptive := Policy{Mode: ModeAdaptive, MaxRows: 256, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond, TargetLatency: 10 * time.Millisecond}
	tests := []struct {
		name string
		// policy, if set, replaces adaptive.
		policy *Policy
		// busy is how many batches the stages hold at the start.
		busy int
		// taught gives the cost model its lessons first.
		taught bool
		feed   func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad)
		// reasons are the close reasons expected, in order.
		reasons []string
	}{
		{
			name: "a lone event closes at once when the stages are idle",
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad) {
				in <- msg(0, 0, 10)
				if b := recv(out); b == nil || len(b.Msgs) != 1 {
					t.Fatalf("got %d rows, want a batch of 1 at once", size(b))
				}
			},
			reasons: []string{CloseIdle},
		},
		{
			name: "events queued behind a busy scorer close together when it is free",
			busy: 1,
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad) {
				for i := range 3 {
					in <- msg(0, int64(i), 10)
					time.Sleep(time.Millisecond)
				}
				if b := recv(out); b != nil {
					t.Fatalf("closed %d rows while the stages were busy", len(b.Msgs))
				}
				l.done()
				if b := recv(out); b == nil || len(b.Msgs) != 3 {
					t.Fatalf("got %d rows, want the 3 queued events once the stages are idle", size(b))
				}
			},
			reasons: []string{CloseIdle},
		},
		{
			name:   "max_wait bounds a batch while the stages stay busy",
			policy: &Policy{MaxRows: 256, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond, TargetLatency: time.Hour},
			busy:   1,
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad) {
				in <- msg(0, 0, 10)
				time.Sleep(20*time.Millisecond - time.Nanosecond)
				if b := recv(out); b != nil {
					t.Fatalf("closed %d rows before max_wait", len(b.Msgs))
				}
				time.Sleep(time.Nanosecond)
				if b := recv(out); b == nil || len(b.Msgs) != 1 {
					t.Fatalf("got %d rows at max_wait, want 1 row", size(b))
				}
			},
			reasons: []string{CloseWait},
		},
		{
			name:   "the target closes a batch in time to score it",
			busy:   1,
			taught: true,
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad) {
				// One row costs 2.1 ms: the batch must close 7.9 ms after it opened.
				in <- msg(0, 0, 10)
				time.Sleep(7800 * time.Microsecond)
				if b := recv(out); b != nil {
					t.Fatalf("closed at 7.8 ms, before the target required")
				}
				time.Sleep(200 * time.Microsecond)
				if b := recv(out); b == nil || len(b.Msgs) != 1 {
					t.Fatalf("got %d rows at 8 ms, want 1 row closed for the target", size(b))
				}
			},
			reasons: []string{CloseTarget},
		},
		{
			name:   "the target caps a batch fed faster than it closes",
			busy:   1,
			taught: true,
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad) {
				// One event every 50 µs: n rows have waited 0.05(n-1) ms and
				// cost 2+0.1n ms, so about 53 rows meet the 10 ms target.
				for i := range 60 {
					in <- msg(0, int64(i), 10)
					time.Sleep(50 * time.Microsecond)
				}
				b := recv(out)
				if b == nil || len(b.Msgs) < 50 || len(b.Msgs) > 53 {
					t.Fatalf("got %d rows, want the first batch capped at 50 to 53 rows", size(b))
				}
				if waited := time.Duration(len(b.Msgs)-1) * 50 * time.Microsecond; waited+l.cost.predict(len(b.Msgs)) > 10*time.Millisecond {
					t.Fatalf("a batch of %d rows misses the target: waited %v, costs %v", len(b.Msgs), waited, l.cost.predict(len(b.Msgs)))
				}
			},
			reasons: []string{CloseTarget},
		},
		{
			name:   "a growing backlog favours throughput up to max_rows",
			busy:   1,
			taught: true,
			feed: func(t *testing.T, in chan<- schemas.Message, out <-chan *Batch, l *stagesLoad) {
				for i := range 300 {
					in <- msg(0, int64(i), 10)
				}
				b := recv(out)
				if b == nil || len(b.Msgs) != 256 {
					t.Fatalf("got %d rows, want a full batch of 256 rows", size(b))
				}
			},
			reasons: []string{CloseFull},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := make(chan schemas.Message, 512)
				out := make(chan *Batch, 100)
				l := newStagesLoad()
				l.busy.Store(int64(tc.busy))
				if tc.taught {
					teach(l)
				}
				var log closeLog
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				p := adaptive
				if tc.policy != nil {
					p = *tc.policy
				}
				go func() { done <- p.run(ctx, in, out, l, log.closed) }()
				tc.feed(t, in, out, l)
				cancel()
				<-done
				if len(log.reasons) < len(tc.reasons) {
					t.Fatalf("close reasons %v, want %v first", log.reasons, tc.reasons)
				}
				for i, want := range tc.reasons {
					if log.reasons[i] != want {
						t.Fatalf("close reasons %v (rows %v), want %v first", log.reasons, log.rows, tc.reasons)
					}
				}
			})
		})
	}
}

func TestCostModel(t *testing.T) {
	var c costModel
	if got := c.rowsWithin(10*time.Millisecond, 512); got != 512 {
		t.Fatalf("rowsWithin before any observation = %d, want the limit 512", got)
	}
	l := newStagesLoad()
	teach(l)
	perCall, perRow, ok := l.cost.coefficients()
	if !ok || math.Abs(perCall-0.002) > 1e-6 || math.Abs(perRow-0.0001) > 1e-8 {
		t.Fatalf("coefficients = %v, %v, %v; want 2 ms per call and 0.1 ms per row", perCall, perRow, ok)
	}
	if got := l.cost.rowsWithin(10*time.Millisecond, 512); got != 80 {
		t.Fatalf("rowsWithin(10ms) = %d, want 80", got)
	}
	if got := l.cost.rowsWithin(time.Millisecond, 512); got != 1 {
		t.Fatalf("rowsWithin(1ms) = %d, want at least 1", got)
	}
	// Batches of one size cannot split the cost: it is all taken per row.
	var one costModel
	one.observe(50, 5*time.Millisecond)
	if a, b, _ := one.coefficients(); a != 0 || math.Abs(b-0.0001) > 1e-12 {
		t.Fatalf("one size: coefficients %v, %v; want 0 and 0.1 ms per row", a, b)
	}
	// The model follows a change of cost.
	for range 200 {
		l.cost.observe(10, 6*time.Millisecond)
		l.cost.observe(100, 24*time.Millisecond)
	}
	if got := l.cost.predict(100); got < 23*time.Millisecond || got > 25*time.Millisecond {
		t.Fatalf("predict(100) after the cost doubled = %v, want about 24 ms", got)
	}
}
