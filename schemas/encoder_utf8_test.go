package schemas_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// utf8Spec reads id, key and two passthrough fields, one a string and one
// any JSON value.
const utf8Spec = `
name: utf8
version: "1"
id: id
key: user
features: [{name: x}]
passthrough: [note, meta]
model: {input: x, outputs: [{name: score}]}
`

// encodeValues decodes each value as one event and returns the scored
// events of the rows that decoded.
func encodeValues(t testing.TB, values ...string) [][]byte {
	t.Helper()
	spec, err := schemas.Parse([]byte(utf8Spec))
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]schemas.Message, len(values))
	for i, v := range values {
		msgs[i] = schemas.Message{Topic: "in", Offset: int64(i), Prev: int64(i) - 1, Value: []byte(v), Time: time.UnixMilli(1)}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dec := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer func() {
		dec.Release()
		if n := mem.CurrentAlloc(); n != 0 {
			t.Errorf("%d bytes of Arrow memory left", n)
		}
	}()
	b := &schemas.ScoredBatch{Msgs: msgs, Decoded: dec, Scores: []schemas.Scores{{Name: "score", Width: 1, Values: make([]float64, len(dec.Rows))}}, ScoredAt: time.UnixMilli(2)}
	enc := schemas.NewEncoder(spec)
	var out [][]byte
	for row := range dec.Rows {
		out = append(out, enc.Append(nil, b, row))
	}
	return out
}

// strictJSON reports why b is not what a strict parser accepts: valid JSON
// syntax, valid UTF-8, and no \u escape of an unpaired UTF-16 surrogate
// (encoding/json accepts those; Python's json writes them out as text no
// UTF-8 encoder takes).
func strictJSON(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("invalid UTF-8")
	}
	if !json.Valid(b) {
		return fmt.Errorf("invalid JSON")
	}
	hex := func(s []byte) (rune, bool) {
		if len(s) < 4 {
			return 0, false
		}
		var r rune
		for _, c := range s[:4] {
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'f':
				d = c - 'a' + 10
			case c >= 'A' && c <= 'F':
				d = c - 'A' + 10
			default:
				return 0, false
			}
			r = r<<4 | rune(d)
		}
		return r, true
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] != 'u' {
			i++
			continue
		}
		r, _ := hex(b[i+2:])
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo, _ := hex(b[i+8:]); lo >= 0xdc00 && lo <= 0xdfff {
					i += 11
					continue
				}
			}
			return fmt.Errorf("unpaired high surrogate at byte %d", i)
		case r >= 0xdc00 && r <= 0xdfff:
			return fmt.Errorf("unpaired low surrogate at byte %d", i)
		}
		i += 5
	}
	return nil
}

func TestEncodeReplacesInvalidUTF8Everywhere(t *testing.T) {
	tests := []struct {
		name  string
		value string
		field string // the field of the scored event to check
		want  string // its value as encoding/json reads it
	}{
		{"id", `{"id":"a` + "\xff" + `b","user":"u","x":1}`, "event_id", `"a\ufffdb"`},
		{"key", `{"id":"a","user":"u` + "\xc3" + `","x":1}`, "key", `"u\ufffd"`},
		{"passthrough string", `{"id":"a","user":"u","x":1,"note":"n` + "\xed\xa0\x80" + `!"}`, "passthrough", `{"note":"n\ufffd\ufffd\ufffd!"}`},
		{"nested passthrough", `{"id":"a","user":"u","x":1,"meta":{"k` + "\xfe" + `":["` + "\x80" + `"]}}`, "passthrough", `{"meta":{"k\ufffd":["\ufffd"]}}`},
		{"lone high surrogate escape", `{"id":"a","user":"u","x":1,"note":"\ud800x"}`, "passthrough", `{"note":"\ufffdx"}`},
		{"lone low surrogate escape", `{"id":"a","user":"u","x":1,"meta":["\uDC00"]}`, "passthrough", `{"meta":["\ufffd"]}`},
		{"reversed pair", `{"id":"a","user":"u","x":1,"note":"\udc00\ud800"}`, "passthrough", `{"note":"\ufffd\ufffd"}`},
		{"valid pair kept", `{"id":"a","user":"u","x":1,"note":"\ud83d\ude00 \u00e9 \\u"}`, "passthrough", `{"note":"😀 é \\u"}`},
		{"valid UTF-8 kept", `{"id":"a","user":"ü","x":1,"note":"日本"}`, "passthrough", `{"note":"日本"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := encodeValues(t, tc.value)
			if len(out) != 1 {
				t.Fatalf("%d scored events, want 1", len(out))
			}
			if err := strictJSON(out[0]); err != nil {
				t.Fatalf("scored event %q: %v", out[0], err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(out[0], &m); err != nil {
				t.Fatal(err)
			}
			var v any
			json.Unmarshal(m[tc.field], &v)
			got, _ := json.Marshal(v)
			var w any
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(w)
			if string(got) != string(want) {
				t.Fatalf("%s = %s, want %s", tc.field, got, want)
			}
		})
	}
}

// FuzzEncodeUTF8 puts arbitrary bytes into an event's id, key and
// passthrough fields, both as string contents and as raw JSON values, and
// checks that every scored event of a row that decoded is strict JSON in
// valid UTF-8.
func FuzzEncodeUTF8(f *testing.F) {
	for _, s := range []string{"", "a", "\xff", "\xed\xa0\x80", `\ud800`, `\udc00\ud800`, `\ud83d\ude00`, `\\u`, `\"`, `\u0000`, "\x00", `{"a":"\ud800"}`, `["` + "\xc3" + `"]`, `"\uDBFF\uDFFF"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		values := []string{
			`{"id":"` + s + `","user":"` + s + `","x":1,"note":"` + s + `","meta":{"` + s + `":["` + s + `"]}}`,
			`{"id":1,"user":"u","x":1,"meta":` + s + `}`,
			`{"id":1,"user":"u","x":1,"note":` + s + `}`,
		}
		for _, out := range encodeValues(t, values...) {
			if err := strictJSON(out); err != nil {
				t.Fatalf("input %q: scored event %q: %v", s, out, err)
			}
		}
	})
}

func TestAppendRawJSONLeavesValidInputAlone(t *testing.T) {
	for _, raw := range []string{`"plain"`, `{"a":[1,2,{"b":"\u00e9\ud83d\ude00\n\\"}]}`, `null`, `"\\ud800"`} {
		if got := string(schemas.AppendRawJSON(nil, raw)); got != raw {
			t.Errorf("AppendRawJSON(%s) = %s", raw, got)
		}
	}
	if got := string(schemas.AppendRawJSON(nil, strings.Repeat("\xff", 2))); got != `\ufffd\ufffd` {
		t.Errorf("AppendRawJSON(ff ff) = %s", got)
	}
}
