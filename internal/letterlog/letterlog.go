package letterlog

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// Dead-letter logging limits: the first Full letters are logged in full,
// one line each; after that at most one summary line per Interval counts
// the letters since the previous line by reason.
const (
	Full     = 5
	Interval = 10 * time.Second
)

// Log logs dead letters without flooding the log: a stream with one bad
// event in a hundred would otherwise write a WARN line per letter. The
// first few are logged in full (reason, field, error, source), so the
// cause is visible at once; later ones are summarised by reason, at most
// one line per interval. It is safe for concurrent use; Close writes what
// is still pending.
type Log struct {
	log      *slog.Logger
	full     int
	interval time.Duration
	// msg is the message of a full line; summary that of a summary line.
	msg, summary string

	mu      sync.Mutex
	logged  int
	pending map[schemas.Reason]int
	timer   *time.Timer
}

// New returns a Log writing to log: full lines with message msg, summary
// lines with message summary.
func New(log *slog.Logger, full int, interval time.Duration, msg, summary string) *Log {
	return &Log{log: log, full: full, interval: interval, msg: msg, summary: summary, pending: map[schemas.Reason]int{}}
}

// Add logs dead letter d, in full or into the next summary.
func (l *Log) Add(d *schemas.DeadLetter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.logged < l.full {
		l.logged++
		args := []any{"reason", d.Reason, "field", d.Field, "err", d.Detail, "topic", d.Msg.Topic, "partition", d.Msg.Partition, "offset", d.Msg.Offset}
		if l.logged == l.full {
			args = append(args, "next", "later dead letters are logged as one summary by reason per "+l.interval.String())
		}
		l.log.Warn(l.msg, args...)
		return
	}
	l.pending[d.Reason]++
	if l.timer == nil {
		l.timer = time.AfterFunc(l.interval, l.flush)
	}
}

// flush writes the summary of the letters added since the last one.
func (l *Log) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	l.summaryLocked()
}

// Close stops the timer and writes what is pending.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.summaryLocked()
}

func (l *Log) summaryLocked() {
	if len(l.pending) == 0 {
		return
	}
	reasons := make([]schemas.Reason, 0, len(l.pending))
	total := 0
	for r, n := range l.pending {
		reasons = append(reasons, r)
		total += n
	}
	slices.Sort(reasons)
	by := make([]slog.Attr, 0, len(reasons))
	for _, r := range reasons {
		by = append(by, slog.Int(string(r), l.pending[r]))
	}
	l.log.Warn(l.summary, "count", total, slog.GroupAttrs("by_reason", by...), "interval", l.interval)
	clear(l.pending)
}
