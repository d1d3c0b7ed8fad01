package letterlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func TestLetterLogSummarisesByReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf lockedBuffer // the summary is written from the timer's goroutine
		l := New(slog.New(slog.NewJSONHandler(&buf, nil)), 3, 10*time.Second, "dead letter", "dead letters since the last summary")
		letter := func(r schemas.Reason) *schemas.DeadLetter {
			return &schemas.DeadLetter{Msg: schemas.Message{Topic: "events", Partition: 1, Offset: 7}, Reason: r, Field: "amount", Detail: "not a number"}
		}
		// 990 letters in one burst: 3 in full, the rest in one summary.
		for i := range 990 {
			l.Add(letter([]schemas.Reason{schemas.ReasonTypeMismatch, schemas.ReasonInvalidJSON, schemas.ReasonMissingField}[i%3]))
		}
		if got := lines(t, &buf); len(got) != 3 {
			t.Fatalf("before the interval: %d lines, want the 3 logged in full:\n%s", len(got), buf.String())
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := lines(t, &buf)
		if len(got) != 4 {
			t.Fatalf("after one interval: %d lines, want 4:\n%s", len(got), buf.String())
		}
		for _, full := range got[:3] {
			if full["msg"] != "dead letter" || full["field"] != "amount" || full["offset"] != 7.0 {
				t.Errorf("a full line lacks its details: %v", full)
			}
		}
		if _, ok := got[2]["next"]; !ok {
			t.Errorf("the last full line does not say what follows: %v", got[2])
		}
		sum := got[3]
		by, _ := sum["by_reason"].(map[string]any)
		if sum["count"] != 987.0 || by["type_mismatch"] != 329.0 || by["invalid_json"] != 329.0 || by["missing_field"] != 329.0 {
			t.Errorf("summary = %v, want 987 letters, 329 per reason", sum)
		}

		// Quiet: no line. Two letters then close: one summary at once.
		time.Sleep(time.Minute)
		l.Add(letter(schemas.ReasonNonFinite))
		l.Add(letter(schemas.ReasonNonFinite))
		l.Close()
		got = lines(t, &buf)
		if len(got) != 5 {
			t.Fatalf("after close: %d lines, want 5:\n%s", len(got), buf.String())
		}
		if by, _ := got[4]["by_reason"].(map[string]any); got[4]["count"] != 2.0 || by["non_finite"] != 2.0 {
			t.Errorf("closing summary = %v, want 2 non_finite", got[4])
		}
		l.Close() // nothing pending: no line
		if n := len(lines(t, &buf)); n != 5 {
			t.Errorf("a second close wrote a line (%d lines)", n)
		}
	})
}

// lockedBuffer is a log sink safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func lines(t *testing.T, buf *lockedBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}
