package pipeline

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// Dead-letter logging limits: the first letterLogFull letters are logged in
// full, one line each; after that at most one summary line per
// letterLogInterval counts the letters since the previous line by reason.
// Every letter is still counted in streamscore_pipeline_dead_letters_total
// and published to the dead-letter topic with its reason.
const (
	letterLogFull     = 5
	letterLogInterval = 10 * time.Second
)

// letterLog logs dead letters without flooding the log: a stream with one
// bad event in a hundred would otherwise write a WARN line per letter. The
// first few are logged in full (reason, field, error, source), so the
// cause is visible at once; later ones are summarised by reason, at most
// one line per interval. It is safe for concurrent use; close writes what
// is still pending.
type letterLog struct {
	log      *slog.Logger
	full     int
	interval time.Duration

	mu      sync.Mutex
	logged  int
	pending map[schemas.Reason]int
	timer   *time.Timer
}

func newLetterLog(log *slog.Logger, full int, interval time.Duration) *letterLog {
	return &letterLog{log: log, full: full, interval: interval, pending: map[schemas.Reason]int{}}
}

// add logs dead letter d, in full or into the next summary.
func (l *letterLog) add(d *schemas.DeadLetter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.logged < l.full {
		l.logged++
		args := []any{"reason", d.Reason, "field", d.Field, "err", d.Detail, "topic", d.Msg.Topic, "partition", d.Msg.Partition, "offset", d.Msg.Offset}
		if l.logged == l.full {
			args = append(args, "next", "later dead letters are logged as one summary by reason per "+l.interval.String())
		}
		l.log.Warn("dead letter", args...)
		return
	}
	l.pending[d.Reason]++
	if l.timer == nil {
		l.timer = time.AfterFunc(l.interval, l.flush)
	}
}

// flush writes the summary of the letters added since the last one.
func (l *letterLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	l.summaryLocked()
}

// close stops the timer and writes what is pending.
func (l *letterLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.summaryLocked()
}

func (l *letterLog) summaryLocked() {
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
	l.log.Warn("dead letters since the last summary", "count", total, slog.GroupAttrs("by_reason", by...), "interval", l.interval)
	clear(l.pending)
}
