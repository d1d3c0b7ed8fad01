package pipeline

import (
	"context"
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
			policy: Policy{MaxRows: 3, MaxBytes: 1 << 20, MaxWait: time.Second},
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
			policy: Policy{MaxRows: 100, MaxBytes: 250, MaxWait: time.Second},
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
			policy: Policy{MaxRows: 100, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond},
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
			policy: Policy{MaxRows: 100, MaxBytes: 1 << 20, MaxWait: time.Hour},
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
