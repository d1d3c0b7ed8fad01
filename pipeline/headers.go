package pipeline

import (
	"bytes"
	"strings"

	"github.com/streamscore/streamscore/schemas"
)

// Trace-context headers (W3C Trace Context) that every scored event carries
// over from its input record, whatever Config.CopyHeaders says.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// headerFilter selects the input headers copied onto scored events: the
// trace-context ones plus an allow-list, matched without regard to case.
type headerFilter []string

func newHeaderFilter(extra []string) headerFilter {
	f := headerFilter{HeaderTraceparent, HeaderTracestate}
	for _, h := range extra {
		if h = strings.TrimSpace(h); h != "" && !f.allows(h) {
			f = append(f, h)
		}
	}
	return f
}

func (f headerFilter) allows(key string) bool {
	for _, k := range f {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// appendAllowed appends to arena the headers of m that f allows and returns
// the grown arena and the appended part (nil when none), so a batch
// allocates its headers once rather than per event.
//
// hint is the capacity to give the arena when it is first needed (the
// batch's rows times the filter's length, say), so a batch whose events
// carry headers allocates them once.
func (f headerFilter) appendAllowed(arena []schemas.Header, m *schemas.Message, hint int) ([]schemas.Header, []schemas.Header) {
	if len(m.Headers) == 0 {
		return arena, nil
	}
	if arena == nil {
		arena = make([]schemas.Header, 0, max(hint, len(m.Headers)))
	}
	start := len(arena)
	for _, h := range m.Headers {
		if f.allows(h.Key) {
			arena = append(arena, h)
		}
	}
	if len(arena) == start {
		return arena, nil
	}
	return arena, arena[start:len(arena):len(arena)]
}

// ownHeaders replaces the values of hs, which alias an input record, by
// copies, for scored events that outlive their batch (the shadow topic's).
func ownHeaders(hs []schemas.Header) []schemas.Header {
	for i := range hs {
		hs[i].Value = bytes.Clone(hs[i].Value)
	}
	return hs
}
