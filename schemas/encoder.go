package schemas

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/array"
)

// Scores is one model output for a batch: Values holds rows×Width values,
// row-major. Name is the field name in the scored event (the binding's "as").
// Bits is 32 when the model produced float32, so values print as the shortest
// text that round-trips a float32.
type Scores struct {
	Name   string
	Width  int
	Values []float64
	Bits   int
	// Strings, if not nil, holds a string output's rows×Width values (class
	// labels), printed instead of Values (which then hold NaN).
	Strings []string
	// Keys, if not nil, names the Width values of each row (a ZipMap's
	// classes): a row prints as {"<key>": value, ...}.
	Keys []string
}

// ScoredBatch is one scored batch: what the encoder needs to write its
// scored events, and what observers (drift, replay) see.
type ScoredBatch struct {
	Msgs    []Message
	Decoded *Decoded
	Scores  []Scores
	// OK marks the rows that were scored; nil means every row was. A row
	// the model rejected has zero scores and is a dead letter instead.
	OK []bool
	// Model and ModelVersion name the model that scored the batch.
	Model        string
	ModelVersion string
	// Versions, if not nil, names the model version of each row (a canary
	// splits a batch between two versions) and overrides ModelVersion.
	Versions []string
	// FeaturesMissing, if not nil, marks rows scored with default values
	// for feature-set features that could not be read (entity missing,
	// stale, or the store unavailable under fail_open).
	FeaturesMissing []bool
	ScoredAt        time.Time
}

// RowOK reports whether row r was scored.
func (b *ScoredBatch) RowOK(r int) bool { return b.OK == nil || b.OK[r] }

// Version returns the model version that scored row r.
func (b *ScoredBatch) Version(r int) string {
	if b.Versions != nil {
		return b.Versions[r]
	}
	return b.ModelVersion
}

// Encoder writes scored events as JSON:
//
//	{"event_id":"e1","key":"u1","event_time":1732460000000,
//	 "topic":"events","partition":3,"offset":1234,
//	 "model":"fraud","model_version":"3","schema":"payments/1",
//	 "scores":{"score":0.25},"input_ts":1732460000012,"scored_at":1732460000020,
//	 "passthrough":{"merchant":"m-17"}}
//
// "features_missing":true follows "scores" when the row was scored with
// default values for feature-set features.
// event_time, input_ts (the input record's Kafka timestamp) and scored_at are
// epoch milliseconds. A non-finite score is written as null.
//
// The output is always valid JSON in valid UTF-8, whatever the input held:
// invalid UTF-8 in any copied field (id, key, passthrough values, at any
// depth) is replaced by U+FFFD, and so is a \u escape of a lone UTF-16
// surrogate in a passthrough value, which strict parsers refuse. One policy
// for every field: the event is still scored, and the replacement is
// visible in the output. An Encoder is stateless and safe for concurrent
// use.
type Encoder struct {
	schema string
	pass   []string
}

// NewEncoder returns an encoder for events of spec.
func NewEncoder(spec *Spec) *Encoder {
	return &Encoder{schema: spec.String(), pass: spec.Passthrough}
}

// Append appends the scored event for record row row of b to dst.
func (e *Encoder) Append(dst []byte, b *ScoredBatch, row int) []byte {
	rec := b.Decoded.Record
	m := &b.Msgs[b.Decoded.Rows[row]]
	id := rec.Column(0).(*array.String)
	key := rec.Column(1).(*array.String)
	ts := rec.Column(2).(*array.Timestamp)

	dst = append(dst, `{"event_id":`...)
	dst = AppendString(dst, id.Value(row))
	dst = append(dst, `,"key":`...)
	dst = AppendString(dst, key.Value(row))
	dst = append(dst, `,"event_time":`...)
	dst = strconv.AppendInt(dst, int64(ts.Value(row)), 10)
	dst = append(dst, `,"topic":`...)
	dst = AppendString(dst, m.Topic)
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(m.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, m.Offset, 10)
	dst = append(dst, `,"model":`...)
	dst = AppendString(dst, b.Model)
	dst = append(dst, `,"model_version":`...)
	dst = AppendString(dst, b.Version(row))
	dst = append(dst, `,"schema":`...)
	dst = AppendString(dst, e.schema)
	dst = append(dst, `,"scores":{`...)
	for i := range b.Scores {
		s := &b.Scores[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s.Name)
		dst = append(dst, ':')
		if s.Strings != nil || s.Keys != nil {
			dst = appendTyped(dst, s, row)
			continue
		}
		vals := s.Values[row*s.Width : (row+1)*s.Width]
		if s.Width == 1 {
			dst = appendNumber(dst, vals[0], s.Bits)
			continue
		}
		dst = append(dst, '[')
		for j, v := range vals {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendNumber(dst, v, s.Bits)
		}
		dst = append(dst, ']')
	}
	if b.FeaturesMissing != nil && b.FeaturesMissing[row] {
		dst = append(dst, `},"features_missing":true,"input_ts":`...)
	} else {
		dst = append(dst, `},"input_ts":`...)
	}
	dst = strconv.AppendInt(dst, m.Time.UnixMilli(), 10)
	dst = append(dst, `,"scored_at":`...)
	dst = strconv.AppendInt(dst, b.ScoredAt.UnixMilli(), 10)
	if len(e.pass) > 0 {
		dst = append(dst, `,"passthrough":{`...)
		n := 0
		for i, name := range e.pass {
			col := rec.Column(4 + i).(*array.String)
			if col.IsNull(row) {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = AppendString(dst, name)
			dst = append(dst, ':')
			dst = AppendRawJSON(dst, col.Value(row))
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendNumber(dst []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	if bits != 32 {
		bits = 64
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

const hexDigits = "0123456789abcdef"

// AppendRawJSON appends raw, one JSON value as the decoder accepted it, to
// dst, replacing each invalid UTF-8 sequence and each \u escape of an
// unpaired UTF-16 surrogate with the escape \ufffd (U+FFFD). Outside strings
// valid JSON holds only ASCII, so every such byte is inside a string.
func AppendRawJSON(dst []byte, raw string) []byte {
	start := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw) && raw[i+1] == 'u':
			r, ok := hex4(raw, i+2)
			switch {
			case !ok || !utf16IsSurrogate(r):
				i += 2
			case r < 0xdc00 && i+11 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u':
				if lo, ok := hex4(raw, i+8); ok && lo >= 0xdc00 && lo <= 0xdfff {
					i += 12 // a valid pair
					continue
				}
				fallthrough
			default:
				dst = append(dst, raw[start:i]...)
				dst = append(dst, `\ufffd`...)
				i += 6
				start = i
			}
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, raw[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
		}
	}
	return append(dst, raw[min(start, len(raw)):]...)
}

// hex4 reads four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r <= 0xdfff }

// AppendString appends s to dst as a JSON string, escaping quotes,
// backslashes and control characters and replacing invalid UTF-8 with U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
