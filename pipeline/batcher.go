package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// Policy says when a batch closes: at MaxRows messages, at MaxBytes of
// message values, or MaxWait after its first message arrived, whichever
// comes first.
type Policy struct {
	MaxRows  int
	MaxBytes int
	MaxWait  time.Duration
}

// DefaultPolicy is the batch policy used where the config leaves it zero.
var DefaultPolicy = Policy{MaxRows: 1024, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond}

// Validate reports the first problem with p.
func (p Policy) Validate() error {
	switch {
	case p.MaxRows <= 0:
		return errors.New("batch.max_rows: must be at least 1")
	case p.MaxBytes <= 0:
		return errors.New("batch.max_bytes: must be at least 1")
	case p.MaxWait <= 0:
		return errors.New("batch.max_wait: must be a positive duration such as 20ms")
	}
	return nil
}

// Batch is a micro-batch on its way through the stages. It carries the
// messages it holds and the offset spans to acknowledge when it is done.
type Batch struct {
	Msgs  []schemas.Message
	Bytes int
	// Opened is when the first message arrived.
	Opened time.Time
	Spans  []schemas.Span

	decoded *schemas.Decoded
	missing []bool
	dead    []schemas.DeadLetter
	out     []schemas.Message
	arena   []byte
	trace   *batchTrace // nil unless the batch is traced
}

// Batch runs the policy: it reads messages from in and sends closed batches
// to out until in is closed, then sends the partial batch, if any, and
// returns nil. It returns ctx's error if ctx is done first.
func (p Policy) Batch(ctx context.Context, in <-chan schemas.Message, out chan<- *Batch) error {
	var (
		b      *Batch
		timer  = time.NewTimer(time.Hour)
		expiry <-chan time.Time
	)
	timer.Stop()
	defer timer.Stop()
	send := func() error {
		b.Spans = schemas.Spans(b.Spans[:0], b.Msgs)
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b, expiry = nil, nil
		timer.Stop()
		return nil
	}
	for {
		select {
		case m, ok := <-in:
			if !ok {
				if b != nil {
					return send()
				}
				return nil
			}
			if b == nil {
				b = &Batch{Msgs: make([]schemas.Message, 0, min(p.MaxRows, 4096)), Opened: time.Now()}
				timer.Reset(p.MaxWait)
				expiry = timer.C
			}
			b.Msgs = append(b.Msgs, m)
			b.Bytes += len(m.Value)
			if len(b.Msgs) >= p.MaxRows || b.Bytes >= p.MaxBytes {
				if err := send(); err != nil {
					return err
				}
			}
		case <-expiry:
			if err := send(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
