package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	clock := t0
	at := func(d time.Duration) { clock = t0.Add(d) }
	newAt := func(tty bool, total int64) (*Bar, *bytes.Buffer) {
		var buf bytes.Buffer
		at(0)
		p := New(&buf, tty, total, "replaying", "events")
		p.now = func() time.Time { return clock }
		p.start, p.shown = t0, t0
		return p, &buf
	}

	t.Run("terminal: no rate from a near-zero interval", func(t *testing.T) {
		p, buf := newAt(true, 1_000_000)
		at(300 * time.Millisecond) // past the redraw interval, before the rate window
		p.Set64(281_000)
		if got := buf.String(); strings.Contains(got, "/s") || !strings.Contains(got, "281000/1000000") {
			t.Errorf("first frame %q: want the count and no rate", got)
		}
		at(2 * time.Second)
		p.Set64(500_000)
		if got := buf.String(); !strings.Contains(got, "250000 events/s") || !strings.Contains(got, "eta 2s") {
			t.Errorf("frame at 2s %q: want 250000 events/s, eta 2s", got)
		}
		at(4 * time.Second)
		p.Set64(1_000_000) // reaching the total ends the bar with a newline
		if got := buf.String(); !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
			t.Errorf("after the total: %q, want one final newline", got)
		}
		p.Finish()
		if strings.Count(buf.String(), "\n") != 1 {
			t.Errorf("Finish after the total wrote again: %q", buf.String())
		}
	})

	t.Run("not a terminal: plain lines only, none in a short run", func(t *testing.T) {
		p, buf := newAt(false, 1000)
		for i := range 10 {
			at(time.Duration(i) * 500 * time.Millisecond)
			p.Set64(int64(i * 100))
		}
		p.Finish()
		if buf.Len() != 0 {
			t.Errorf("a 5 s run wrote %q; want nothing (the command prints its summary)", buf.String())
		}
		p, buf = newAt(false, 0)
		at(11 * time.Second)
		p.Add(110_000)
		at(12 * time.Second)
		p.Add(1)
		p.Finish()
		got := buf.String()
		if strings.Contains(got, "\r") || strings.Count(got, "\n") != 1 || !strings.Contains(got, "110000 events, 10000 events/s") {
			t.Errorf("long run wrote %q; want one plain line with the count and rate", got)
		}
	})
}
