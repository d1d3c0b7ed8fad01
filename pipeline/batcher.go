package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// Mode is how a Policy decides that a batch is complete.
type Mode string

// Batch modes.
const (
	// ModeAdaptive (the default) closes a batch as soon as waiting gains
	// nothing: when the input holds no more messages and the stages after
	// the batcher are idle, so a lone event is scored at once, while under
	// load batches grow with the events that queue while the previous
	// batch is scored. TargetLatency caps a batch unless lag is growing;
	// MaxRows, MaxBytes and MaxWait still bound it.
	ModeAdaptive Mode = "adaptive"
	// ModeFixed closes a batch only at MaxRows, MaxBytes or MaxWait after
	// its first message.
	ModeFixed Mode = "fixed"
)

// Reasons a batch closes, the label values of
// streamscore_pipeline_batches_closed_total.
const (
	CloseFull   = "full"   // MaxRows messages
	CloseBytes  = "bytes"  // MaxBytes of message values
	CloseWait   = "wait"   // MaxWait after the first message
	CloseIdle   = "idle"   // adaptive: nothing more buffered and the scorer idle
	CloseTarget = "target" // adaptive: scoring more would miss TargetLatency
	CloseDrain  = "drain"  // the input ended (shutdown or a bounded source)
)

// Policy says when a batch closes: at MaxRows messages, at MaxBytes of
// message values, or MaxWait after its first message arrived, whichever
// comes first; in adaptive mode also when waiting gains nothing or would
// miss TargetLatency. The zero value of each field takes DefaultPolicy's.
type Policy struct {
	// Mode is adaptive (the default when empty) or fixed.
	Mode     Mode          `yaml:"mode"`
	MaxRows  int           `yaml:"max_rows"`
	MaxBytes int           `yaml:"max_bytes"`
	MaxWait  time.Duration `yaml:"max_wait"`
	// TargetLatency, in adaptive mode, bounds the time from a batch's first
	// message to the end of its scoring (decode to encode), from a cost
	// model (per call + per row) learnt online from the batches scored so
	// far: a batch closes when one more message would make it late. While
	// the queue behind the batch is longer than the batch and growing, the
	// target yields to throughput, up to MaxRows.
	TargetLatency time.Duration `yaml:"target_latency"`
}

// DefaultPolicy is the batch policy used where the config leaves it zero.
var DefaultPolicy = Policy{Mode: ModeAdaptive, MaxRows: 1024, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond, TargetLatency: 10 * time.Millisecond}

// WithDefaults returns p with each zero field set to DefaultPolicy's.
func (p Policy) WithDefaults() Policy {
	if p.Mode == "" {
		p.Mode = DefaultPolicy.Mode
	}
	if p.MaxRows == 0 {
		p.MaxRows = DefaultPolicy.MaxRows
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultPolicy.MaxBytes
	}
	if p.MaxWait == 0 {
		p.MaxWait = DefaultPolicy.MaxWait
	}
	if p.TargetLatency == 0 {
		p.TargetLatency = DefaultPolicy.TargetLatency
	}
	return p
}

// Validate reports the first problem with p, naming the key and the fix.
// Call it on p.WithDefaults() where zero fields mean the defaults.
func (p Policy) Validate() error {
	switch {
	case p.Mode != "" && p.Mode != ModeAdaptive && p.Mode != ModeFixed:
		return fmt.Errorf("batch.mode: %q is not adaptive or fixed", p.Mode)
	case p.MaxRows <= 0:
		return errors.New("batch.max_rows: must be at least 1")
	case p.MaxBytes <= 0:
		return errors.New("batch.max_bytes: must be at least 1")
	case p.MaxWait <= 0:
		return errors.New("batch.max_wait: must be a positive duration such as 20ms")
	case p.TargetLatency < 0:
		return errors.New("batch.target_latency: must be a positive duration such as 10ms (0 takes the default)")
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
	// work is the time the stages spent on the batch from decode to
	// encode, queueing excluded; the cost model learns from it.
	work  time.Duration
	trace *batchTrace // nil unless the batch is traced
}

// Batch runs the policy: it reads messages from in and sends closed batches
// to out until in is closed, then sends the partial batch, if any, and
// returns nil. It returns ctx's error if ctx is done first. It knows
// nothing of the stages after it, so in adaptive mode it takes them to be
// idle: a batch closes as soon as in holds no more messages.
func (p Policy) Batch(ctx context.Context, in <-chan schemas.Message, out chan<- *Batch) error {
	return p.run(ctx, in, out, nil, nil)
}

// stagesLoad tells the batcher how busy the stages after it are: how many
// closed batches they hold (from the batcher's send until the broker
// acknowledges the batch's records), and what scoring costs. Counting a
// batch until its acknowledgement, not only until it is scored, keeps a
// moderate load from becoming many tiny produce requests, each costing
// the broker CPU: events wait for at most one acknowledgement's round trip.
// It is safe for concurrent use.
type stagesLoad struct {
	busy atomic.Int64
	// idle receives a token when busy drops to zero; the batcher checks
	// busy again, as a token may be stale.
	idle chan struct{}
	cost costModel
}

func newStagesLoad() *stagesLoad {
	return &stagesLoad{idle: make(chan struct{}, 1)}
}

// done records that the stages let go of one batch.
func (l *stagesLoad) done() {
	if l.busy.Add(-1) == 0 {
		select {
		case l.idle <- struct{}{}:
		default:
		}
	}
}

// run is Batch with the stages' load l (nil: always idle, no cost model)
// and closed, if not nil, called with each batch's close reason and size.
func (p Policy) run(ctx context.Context, in <-chan schemas.Message, out chan<- *Batch, l *stagesLoad, closed func(reason string, rows int)) error {
	p = p.WithDefaults()
	adaptive := p.Mode == ModeAdaptive
	var (
		b      *Batch
		timer  = time.NewTimer(time.Hour)
		expiry <-chan time.Time
		// why is the close reason should the timer fire.
		why         string
		lastBacklog int
		// lagging is set for the open batch once the target would have
		// closed it while the queue behind it had grown since the last
		// close: then it fills up to MaxRows instead.
		lagging bool
		idle    <-chan struct{}
	)
	timer.Stop()
	defer timer.Stop()
	if l != nil && adaptive {
		idle = l.idle
	}
	stagesIdle := func() bool { return l == nil || l.busy.Load() == 0 }
	predict := func(n int) time.Duration {
		if l == nil {
			return 0
		}
		return l.cost.predict(n)
	}
	send := func(reason string) error {
		b.Spans = schemas.Spans(b.Spans[:0], b.Msgs)
		lastBacklog = len(in)
		if l != nil {
			l.busy.Add(1)
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if closed != nil {
			closed(reason, len(b.Msgs))
		}
		b, expiry = nil, nil
		timer.Stop()
		return nil
	}
	// arm sets the timer to the open batch's next deadline: MaxWait after
	// its first message or, in adaptive mode, the last moment at which
	// scoring it meets the target. It reports a deadline already passed.
	arm := func(now time.Time) (string, bool) {
		at, reason := b.Opened.Add(p.MaxWait), CloseWait
		if adaptive && !lagging {
			if t := b.Opened.Add(p.TargetLatency - predict(len(b.Msgs))); t.Before(at) {
				at, reason = t, CloseTarget
			}
		}
		if !at.After(now) {
			return reason, true
		}
		timer.Reset(at.Sub(now))
		expiry, why = timer.C, reason
		return "", false
	}
	for {
		var wake <-chan struct{}
		if b != nil {
			wake = idle
		}
		select {
		case m, ok := <-in:
			if !ok {
				if b != nil {
					return send(CloseDrain)
				}
				return nil
			}
			now := time.Now()
			if b == nil {
				b = &Batch{Msgs: make([]schemas.Message, 0, min(p.MaxRows, 4096)), Opened: now}
				lagging = false
				if !adaptive {
					timer.Reset(p.MaxWait)
					expiry, why = timer.C, CloseWait
				}
			}
			b.Msgs = append(b.Msgs, m)
			b.Bytes += len(m.Value)
			reason := ""
			switch {
			case len(b.Msgs) >= p.MaxRows:
				reason = CloseFull
			case b.Bytes >= p.MaxBytes:
				reason = CloseBytes
			case adaptive:
				backlog := len(in)
				if !lagging && now.Sub(b.Opened)+predict(len(b.Msgs)+1) >= p.TargetLatency {
					// One more event would make the batch late, unless
					// the queue is growing: capping batches then only
					// adds per-call cost, and lag, so throughput wins.
					if backlog > 0 && backlog > lastBacklog {
						lagging = true
					} else {
						reason = CloseTarget
					}
				}
				if reason == "" && backlog == 0 {
					if stagesIdle() {
						reason = CloseIdle
					} else if r, passed := arm(now); passed {
						reason = r
					}
				}
			}
			if reason != "" {
				if err := send(reason); err != nil {
					return err
				}
			}
		case <-expiry:
			if err := send(why); err != nil {
				return err
			}
		case <-wake:
			if len(in) == 0 && stagesIdle() {
				if err := send(CloseIdle); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
