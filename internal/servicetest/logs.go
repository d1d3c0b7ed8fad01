package servicetest

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// pollEvery is how often the waits below look again.
const pollEvery = 50 * time.Millisecond

// Logs is a buffer a child process writes its output to while a test
// reads it. It is safe for concurrent use.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Tail returns the last n bytes of s, marked as cut when it is longer.
func Tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// LoggedAddr returns the value of the first JSON log line's key (such as
// "http_addr") in logs, or "".
func LoggedAddr(logs string, key string) string {
	for line := range strings.SplitSeq(logs, "\n") {
		if !strings.Contains(line, `"`+key+`"`) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if s, ok := rec[key].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// WaitAddr waits up to timeout for a JSON log line carrying key (such as
// "http_addr") and returns its value; it fails tb if none comes.
func WaitAddr(tb testing.TB, logs *Logs, key string, timeout time.Duration) string {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if a := LoggedAddr(logs.String(), key); a != "" {
			return a
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s logged within %s:\n%s", key, timeout, Tail(logs.String(), 2000))
		}
		time.Sleep(pollEvery)
	}
}

// Assigned reports whether logs hold an "assigned partitions" line with a
// non-empty assignment, as consumers.Group logs it.
func Assigned(logs string) bool {
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"assigned partitions"`) && !strings.Contains(line, `"partitions":null`) && !strings.Contains(line, `"partitions":[]`) {
			return true
		}
	}
	return false
}

// WaitAssigned waits up to timeout until every one of logs shows a
// non-empty assignment; it fails tb otherwise.
func WaitAssigned(tb testing.TB, timeout time.Duration, logs ...*Logs) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		all := true
		for _, l := range logs {
			all = all && Assigned(l.String())
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			var last string
			if len(logs) > 0 {
				last = Tail(logs[len(logs)-1].String(), 3000)
			}
			tb.Fatalf("not every process got partitions within %s:\n%s", timeout, last)
		}
		time.Sleep(pollEvery)
	}
}
