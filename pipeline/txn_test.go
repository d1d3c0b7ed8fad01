package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// abortErr is what a TxnSink reports for an aborted transaction.
type abortErr struct{}

func (abortErr) Error() string { return "transaction aborted" }
func (abortErr) Aborted() bool { return true }

// txnSink commits every batch but those numbered in abort (1-based), and
// fails hard at batch fatal.
type txnSink struct {
	recordingSink
	abort map[int]bool
	fatal int
	n     int
	spans int
}

func (s *txnSink) PublishTxn(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, spans []schemas.Span, done func(error)) {
	s.n++
	switch {
	case s.n == s.fatal:
		done(errors.New("producer fenced"))
	case s.abort[s.n]:
		done(abortErr{})
	default:
		s.spans += len(spans)
		done(s.Publish(ctx, scored, dead))
	}
}

// rewindSource records Rewind calls.
type rewindSource struct {
	*fakeSource
	mu      sync.Mutex
	rewound []uint64
}

func (s *rewindSource) Rewind(epoch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewound = append(s.rewound, epoch)
}

func TestEngineTxnSinkAbortRewindsWithoutAck(t *testing.T) {
	cases := []struct {
		name    string
		abort   map[int]bool
		fatal   int
		wantErr bool
	}{
		{name: "every transaction commits", abort: nil},
		{name: "aborted batches are not acknowledged and the source rewinds", abort: map[int]bool{2: true, 5: true}},
		{name: "a fenced producer stops the engine", fatal: 3, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			msgs := stream(2000, 4, 0, 0)
			for i := range msgs {
				msgs[i].Epoch = 7
			}
			src := &rewindSource{fakeSource: newFakeSource(msgs, false)}
			sink := &txnSink{abort: tc.abort, fatal: tc.fatal}
			e := newTestEngine(t, src, sink, mem)
			err := e.Run(t.Context())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Run = %v, want error %v", err, tc.wantErr)
			}
			mem.AssertSize(t, 0)
			if tc.wantErr {
				return
			}
			published := len(sink.scored) + len(sink.dead)
			if got := src.ackedCount(); got != published {
				t.Fatalf("acknowledged %d events, but %d were committed", got, published)
			}
			if len(tc.abort) == 0 && published != len(msgs) {
				t.Fatalf("committed %d of %d events", published, len(msgs))
			}
			if len(tc.abort) > 0 && published >= len(msgs) {
				t.Fatalf("committed %d events although %d batches aborted", published, len(tc.abort))
			}
			if e.InFlight() != 0 {
				t.Fatalf("%d events still counted in flight", e.InFlight())
			}
			if len(tc.abort) > 0 && len(src.rewound) == 0 {
				t.Fatal("the source was not rewound after an abort")
			}
			for _, ep := range src.rewound {
				if ep != 7 {
					t.Fatalf("rewound epoch %d, want 7", ep)
				}
			}
			if sink.spans == 0 {
				t.Fatal("the sink got no spans to commit")
			}
		})
	}
}
