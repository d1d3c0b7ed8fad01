package consumers

import (
	"sync"
	"sync/atomic"

	"github.com/streamscore/streamscore/schemas"
)

type topicPartition struct {
	topic     string
	partition int
}

type partMark struct {
	// next is the offset to commit: every fetched offset below it is done.
	next      int64
	committed int64
	// pending holds acknowledged spans that do not yet touch next, keyed by
	// the offset fetched just before them.
	pending map[int64]int64
}

// Watermark tracks, for one assignment epoch, which fetched offsets have been
// acknowledged, and yields per partition the highest offset below which
// everything is done. Spans may be acknowledged in any order; the watermark
// never moves past an unacknowledged offset, and it follows the fetch chain
// (each span names the offset fetched before it) so offset gaps in the log do
// not stall it. Safe for concurrent use.
type Watermark struct {
	epoch uint64
	sent  atomic.Int64

	mu    sync.Mutex
	acked int64
	parts map[topicPartition]*partMark
	stale int64
}

// NewWatermark returns an empty watermark for assignment epoch.
func NewWatermark(epoch uint64) *Watermark {
	return &Watermark{epoch: epoch, parts: make(map[topicPartition]*partMark)}
}

// Epoch returns the assignment epoch the watermark tracks.
func (w *Watermark) Epoch() uint64 { return w.epoch }

// Begin registers the first offset fetched for a partition in this epoch.
// Offsets before it are not this epoch's to commit.
func (w *Watermark) Begin(topic string, partition int, first int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tp := topicPartition{topic, partition}
	if _, ok := w.parts[tp]; ok {
		return
	}
	w.parts[tp] = &partMark{next: first, committed: first, pending: make(map[int64]int64)}
}

// Lower records that the partition's last commit is below its first
// offset, so Uncommitted reports the partition until a commit reaches it
// (offsets acknowledged in a previous assignment and not committed then).
func (w *Watermark) Lower(topic string, partition int, committed int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.parts[topicPartition{topic, partition}]; p != nil && committed < p.committed {
		p.committed = committed
	}
}

// Sent counts n more messages handed to the engine.
func (w *Watermark) Sent(n int) { w.sent.Add(int64(n)) }

// Ack records spans as done. Spans of another epoch, or of a partition that
// was never begun, are ignored and counted as stale. It reports whether any
// partition's watermark moved.
func (w *Watermark) Ack(spans []schemas.Span) (moved bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range spans {
		p := w.parts[topicPartition{s.Topic, s.Partition}]
		if s.Epoch != w.epoch || p == nil {
			w.stale += int64(s.Count)
			continue
		}
		w.acked += int64(s.Count)
		if s.Prev != p.next-1 {
			p.pending[s.Prev] = s.Last
			continue
		}
		p.next = s.Last + 1
		for {
			last, ok := p.pending[p.next-1]
			if !ok {
				break
			}
			delete(p.pending, p.next-1)
			p.next = last + 1
		}
		moved = true
	}
	return moved
}

// Outstanding returns how many sent messages are not yet acknowledged.
func (w *Watermark) Outstanding() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent.Load() - w.acked
}

// Stale returns how many acknowledged messages were ignored as belonging to
// another epoch.
func (w *Watermark) Stale() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stale
}

// Uncommitted returns, per topic and partition, the offset to commit for
// every partition whose watermark is past its last commit, or nil if none is.
func (w *Watermark) Uncommitted() map[string]map[int]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out map[string]map[int]int64
	for tp, p := range w.parts {
		if p.next <= p.committed {
			continue
		}
		if out == nil {
			out = make(map[string]map[int]int64)
		}
		if out[tp.topic] == nil {
			out[tp.topic] = make(map[int]int64)
		}
		out[tp.topic][tp.partition] = p.next
	}
	return out
}

// Committed records that offsets were committed.
func (w *Watermark) Committed(offsets map[string]map[int]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for topic, parts := range offsets {
		for partition, off := range parts {
			if p := w.parts[topicPartition{topic, partition}]; p != nil && off > p.committed {
				p.committed = off
			}
		}
	}
}

// Next returns the partition's watermark: the offset below which every
// message fetched in this epoch is acknowledged (the first fetched offset
// if none is), and false if the partition was never begun.
func (w *Watermark) Next(topic string, partition int) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.parts[topicPartition{topic, partition}]
	if p == nil {
		return 0, false
	}
	return p.next, true
}
