package pipeline

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// fakeSource hands out a fixed list of messages, then either closes its
// output (bounded) or waits for StopFetching (unbounded), like the group.
type fakeSource struct {
	msgs      []schemas.Message
	unbounded bool

	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	acked    []schemas.Span
}

func newFakeSource(msgs []schemas.Message, unbounded bool) *fakeSource {
	return &fakeSource{msgs: msgs, unbounded: unbounded, stop: make(chan struct{})}
}

func (s *fakeSource) Run(ctx context.Context, out chan<- schemas.Message) error {
	defer close(out)
	for _, m := range s.msgs {
		select {
		case out <- m:
		case <-s.stop:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	if s.unbounded {
		select {
		case <-s.stop:
		case <-ctx.Done():
		}
	}
	return nil
}

func (s *fakeSource) StopFetching() { s.stopOnce.Do(func() { close(s.stop) }) }

func (s *fakeSource) Ack(spans []schemas.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, spans...)
}

func (s *fakeSource) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sp := range s.acked {
		n += sp.Count
	}
	return n
}

// sumScorer scores a row as the sum of its features; a row holding 999999 makes
// the whole batch fail, as a model error would.
type sumScorer struct{}

var errPoison = errors.New("poison row")

func (sumScorer) Name() string    { return "sum" }
func (sumScorer) Version() string { return "7" }
func (sumScorer) Score(_ context.Context, in ScoreInput) (ScoreResult, error) {
	f, rows, cols := in.Features, in.Rows, in.Cols
	if slices.Contains(f, 999999) {
		return ScoreResult{}, errPoison
	}
	out := schemas.Scores{Name: "score", Width: 1, Bits: 32, Values: make([]float64, rows)}
	for r := range rows {
		var s float64
		for _, v := range f[r*cols : (r+1)*cols] {
			s += float64(v)
		}
		out.Values[r] = math.Round(s*1e6) / 1e6
	}
	return ScoreResult{Scores: []schemas.Scores{out}, Model: "sum", Version: "7"}, nil
}

// recordingSink keeps what was published; block makes Publish wait for ctx.
type recordingSink struct {
	mu     sync.Mutex
	scored []schemas.Message
	dead   []schemas.DeadLetter
	calls  int
	block  bool
}

func (s *recordingSink) Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error {
	if s.block {
		<-ctx.Done()
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, m := range scored {
		m.Value = slices.Clone(m.Value)
		s.scored = append(s.scored, m)
	}
	s.dead = append(s.dead, dead...)
	return nil
}

// asyncSink completes publishes on other goroutines after a random delay,
// so acknowledgements arrive out of order.
type asyncSink struct {
	recordingSink
	inFlight, maxInFlight atomic.Int32
}

func (s *asyncSink) PublishAsync(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, done func(error)) {
	n := s.inFlight.Add(1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	go func() {
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		err := s.recordingSink.Publish(ctx, scored, dead)
		s.inFlight.Add(-1)
		done(err)
	}()
}
