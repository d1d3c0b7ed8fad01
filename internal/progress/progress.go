package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Output limits.
const (
	// redrawEvery is the least time between two frames of a terminal bar.
	redrawEvery = 200 * time.Millisecond
	// logEvery is the least time between two plain progress lines
	// when stderr is not a terminal.
	logEvery = 10 * time.Second
	// minRateWindow is the least elapsed time over which a rate is
	// shown: a rate taken over the first microseconds (one buffered batch
	// handed over at once) says nothing and once read "281214848 events/s".
	minRateWindow = time.Second
)

// Bar reports a long command's advance on a writer. On a terminal it
// redraws one bar in place ("\r" frames), at most every redrawEvery. On
// anything else (a log file, a pipe, CI) it never writes "\r": it writes a
// plain line at most every logEvery, so a short run writes none and
// the command's own summary line is all the log holds. A rate appears only
// once minRateWindow has passed. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	what     string
	unit     string
	total    int64
	n        int64
	start    time.Time
	shown    time.Time
	finished bool
	now      func() time.Time
}

// New returns a progress report of total units (0: unknown) on w, drawn as
// a bar when tty is true. what names the work ("replaying") and unit what is
// counted ("events").
func New(w io.Writer, tty bool, total int64, what, unit string) *Bar {
	p := &Bar{w: w, tty: tty, what: what, unit: unit, total: total, now: time.Now}
	p.start = p.now()
	p.shown = p.start
	return p
}

// Stderr is New on os.Stderr, as a bar only if stderr is a terminal.
func Stderr(total int64, what, unit string) *Bar {
	return New(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), total, what, unit)
}

// Set64 records that n units are done.
func (p *Bar) Set64(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.n = n
	now := p.now()
	if p.tty && p.total > 0 && n >= p.total {
		p.finishLocked(now)
		return
	}
	every := logEvery
	if p.tty {
		every = redrawEvery
	}
	if now.Sub(p.shown) < every {
		return
	}
	p.shown = now
	p.drawLocked(now)
}

// Add records that n more units are done.
func (p *Bar) Add(n int) {
	p.mu.Lock()
	cur := p.n
	p.mu.Unlock()
	p.Set64(cur + int64(n))
}

// Finish ends the report: a terminal bar is drawn a last time and ended
// with a newline; a plain report writes nothing more.
func (p *Bar) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.finished {
		p.finishLocked(p.now())
	}
}

func (p *Bar) finishLocked(now time.Time) {
	p.finished = true
	if !p.tty {
		return
	}
	p.drawLocked(now)
	fmt.Fprintln(p.w)
}

func (p *Bar) drawLocked(now time.Time) {
	line := p.lineLocked(now)
	if p.tty {
		// Pad to clear what a longer previous frame left.
		fmt.Fprintf(p.w, "\r%-78s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// lineLocked is one frame: "what  45% 45000/100000 events  12000 events/s  eta 4s".
func (p *Bar) lineLocked(now time.Time) string {
	var b strings.Builder
	b.WriteString(p.what)
	b.WriteString(": ")
	el := now.Sub(p.start)
	if p.total > 0 {
		fmt.Fprintf(&b, "%3d%% %d/%d %s", min(100, p.n*100/p.total), p.n, p.total, p.unit)
	} else {
		fmt.Fprintf(&b, "%d %s", p.n, p.unit)
	}
	if el >= minRateWindow && p.n > 0 {
		rate := float64(p.n) / el.Seconds()
		fmt.Fprintf(&b, ", %.0f %s/s", rate, p.unit)
		if p.total > p.n {
			eta := time.Duration(float64(p.total-p.n) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", eta %s", eta.Round(time.Second))
		}
	}
	fmt.Fprintf(&b, ", %s", el.Round(100*time.Millisecond))
	return b.String()
}
