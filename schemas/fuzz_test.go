package schemas_test

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// fuzzSpec is testSpec with limits small enough for the fuzzer to reach.
const fuzzSpec = testSpec + `limits: {max_message_bytes: 2048, max_fields: 16, max_string_bytes: 64, max_depth: 6}
`

var fuzzNeighbour = []byte(`{"id":"n","user":"u","f32":1}`)

var knownReasons = map[schemas.Reason]bool{
	schemas.ReasonInvalidJSON:    true,
	schemas.ReasonMissingField:   true,
	schemas.ReasonTypeMismatch:   true,
	schemas.ReasonNonFinite:      true,
	schemas.ReasonTooLarge:       true,
	schemas.ReasonSchemaMismatch: true,
	schemas.ReasonDuplicateField: true,
}

// FuzzDecode decodes each input between two good events, with the
// single-input spec and with typed features (fuzzTypedSpec). The seed
// corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	spec := parseSpec(f, fuzzSpec)
	// One decoder for every input: inputs run one at a time in a worker, and
	// nothing of one input may leak into the next.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dec := schemas.NewDecoder(spec, mem)
	typed := newTypedFuzzer(f) // the same input through typed features
	f.Fuzz(func(t *testing.T, value []byte) {
		typed.check(t, value)
		msgs := []schemas.Message{
			{Value: fuzzNeighbour, Time: msgTime},
			{Value: value, Time: msgTime},
			{Value: fuzzNeighbour, Time: msgTime},
		}
		out := dec.Decode(msgs)
		defer func() {
			out.Release()
			mem.AssertSize(t, 0)
		}()

		if len(out.Rows)+len(out.Errors) != len(msgs) {
			t.Fatalf("%d rows + %d errors for %d messages", len(out.Rows), len(out.Errors), len(msgs))
		}
		if got := int(out.Record.NumRows()); got != len(out.Rows) {
			t.Fatalf("record has %d rows, Rows has %d", got, len(out.Rows))
		}
		if len(out.Rows) < 2 || out.Rows[0] != 0 || out.Rows[len(out.Rows)-1] != 2 {
			t.Fatalf("Rows = %v, want the neighbours 0 and 2 decoded", out.Rows)
		}
		if got, want := len(out.Features()), len(out.Rows)*len(spec.Features); got != want {
			t.Fatalf("Features() has %d values, want %d", got, want)
		}

		// encoding/json cannot read the NaN and Infinity our decoder accepts.
		extended := bytes.Contains(value, []byte("NaN")) || bytes.Contains(value, []byte("Infinity"))
		valid := json.Valid(value)

		if len(out.Errors) == 1 {
			e := out.Errors[0]
			if e.Index != 1 {
				t.Fatalf("error index = %d, want 1", e.Index)
			}
			if !knownReasons[e.Reason] || e.Msg == "" {
				t.Fatalf("error %+v has no known reason or no message", e)
			}
			// Valid JSON that is not an object is rightly invalid_json.
			object := bytes.HasPrefix(bytes.TrimLeft(value, " \t\r\n"), []byte("{"))
			if valid && object && e.Reason == schemas.ReasonInvalidJSON {
				t.Fatalf("encoding/json accepts %q but the decoder says %v", value, &e)
			}
			if e.Reason == schemas.ReasonDuplicateField && valid {
				if n := topLevelNames(t, value)[e.Field]; n < 2 || !onceField(spec, e.Field) {
					t.Fatalf("duplicate_field %q, but it appears %d times in %q", e.Field, n, value)
				}
			}
			return
		}
		if out.Rows[1] != 1 {
			t.Fatalf("Rows = %v, want [0 1 2]", out.Rows)
		}
		if !valid && !extended {
			t.Fatalf("decoder accepted %q, which is not valid JSON", value)
		}
		for j := range spec.Passthrough {
			col := out.Record.Column(4 + j).(*array.String)
			if !col.IsNull(1) && !json.Valid([]byte(col.Value(1))) {
				t.Fatalf("passthrough %s = %q is not valid JSON", spec.Passthrough[j], col.Value(1))
			}
		}
		if extended {
			return
		}
		for name, n := range topLevelNames(t, value) {
			if n > 1 && onceField(spec, name) {
				t.Fatalf("accepted %q, where %q appears %d times", value, name, n)
			}
		}
		checkAgainstEncodingJSON(t, spec, value, out)
	})
}

// topLevelNames counts the names of a valid JSON object's fields, as
// encoding/json unescapes them.
func topLevelNames(t *testing.T, value []byte) map[string]int {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(value))
	names := map[string]int{}
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("reading %q: %v %v, want an object", value, tok, err)
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("reading a name in %q: %v", value, err)
		}
		names[tok.(string)]++
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatalf("reading a value in %q: %v", value, err)
		}
	}
	return names
}

// onceField reports whether the spec reads a value from the field, so that
// it may appear only once in an event.
func onceField(spec *schemas.Spec, name string) bool {
	if name == spec.ID || name == spec.Key || name == spec.EventTime {
		return true
	}
	for _, f := range spec.Features {
		if f.Name == name {
			return true
		}
	}
	for _, fs := range spec.FeatureSets {
		if slices.Contains(fs.KeyFields(), name) {
			return true
		}
	}
	return false
}

// checkAgainstEncodingJSON re-reads an accepted event with encoding/json and
// compares every column of row 1 of out with it.
func checkAgainstEncodingJSON(t *testing.T, spec *schemas.Spec, value []byte, out *schemas.Decoded) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("encoding/json cannot decode %q into a map: %v", value, err)
	}
	const row = 1
	rec := out.Record
	feats := out.Features()[row*len(spec.Features) : (row+1)*len(spec.Features)]
	for i, f := range spec.Features {
		var want float32
		switch v := m[f.Name].(type) {
		case nil:
			if f.Default == nil {
				t.Fatalf("required %s is %v, but the row was accepted", f.Name, v)
			}
			want = float32(*f.Default)
		case bool:
			if f.Type != schemas.TypeBool {
				t.Fatalf("%s (%s) is %v, but the row was accepted", f.Name, f.Type, v)
			}
			if v {
				want = 1
			}
		case json.Number:
			switch f.Type {
			case schemas.TypeFloat64:
				p, err := strconv.ParseFloat(v.String(), 64)
				if err != nil {
					t.Fatalf("%s = %s: %v", f.Name, v, err)
				}
				want = float32(p)
			case schemas.TypeFloat32:
				p, err := strconv.ParseFloat(v.String(), 32)
				if err != nil {
					t.Fatalf("%s = %s: %v", f.Name, v, err)
				}
				want = float32(p)
			case schemas.TypeInt64:
				n, err := strconv.ParseInt(v.String(), 10, 64)
				if err != nil {
					t.Fatalf("%s = %s is not an int64, but the row was accepted", f.Name, v)
				}
				want = float32(float64(n))
			default:
				t.Fatalf("%s (%s) is the number %s, but the row was accepted", f.Name, f.Type, v)
			}
		default:
			t.Fatalf("%s is %T, but the row was accepted", f.Name, v)
		}
		if math.Float32bits(feats[i]) != math.Float32bits(want) {
			t.Fatalf("%s = %v, encoding/json reads %v from %q", f.Name, feats[i], want, value)
		}
	}

	checkText := func(col int, name string) {
		got := rec.Column(col).(*array.String).Value(row)
		switch v := m[name].(type) {
		case string:
			if utf8.ValidString(got) && got != v {
				t.Fatalf("%s = %q, encoding/json reads %q", name, got, v)
			}
		case json.Number:
			if got != v.String() {
				t.Fatalf("%s = %q, encoding/json reads %s", name, got, v)
			}
		default:
			t.Fatalf("%s is %T, but the row was accepted", name, v)
		}
	}
	checkText(0, spec.ID)
	checkText(1, spec.Key)

	wantTime := msgTime.UnixMilli()
	switch v := m[spec.EventTime].(type) {
	case nil:
	case string:
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatalf("event time %q: %v, but the row was accepted", v, err)
		}
		wantTime = tm.UnixMilli()
	case json.Number:
		p, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			t.Fatalf("event time %s: %v", v, err)
		}
		wantTime = int64(p)
	default:
		t.Fatalf("event time is %T, but the row was accepted", v)
	}
	if got := int64(rec.Column(2).(*array.Timestamp).Value(row)); got != wantTime {
		t.Fatalf("event_time = %d, want %d", got, wantTime)
	}

	for j, name := range spec.Passthrough {
		col := rec.Column(4 + j).(*array.String)
		v, ok := m[name]
		if col.IsNull(row) != !ok {
			t.Fatalf("passthrough %s null = %v, but encoding/json finds it: %v", name, col.IsNull(row), ok)
		}
		if !ok {
			continue
		}
		var got any
		pd := json.NewDecoder(bytes.NewReader([]byte(col.Value(row))))
		pd.UseNumber()
		if err := pd.Decode(&got); err != nil {
			t.Fatalf("passthrough %s = %q: %v", name, col.Value(row), err)
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(v)
		if !bytes.Equal(gb, wb) {
			t.Fatalf("passthrough %s = %s, encoding/json reads %s", name, gb, wb)
		}
	}
}

// FuzzAppendString checks that AppendString always writes valid JSON that
// encoding/json reads back as the input (each invalid UTF-8 byte as U+FFFD).
func FuzzAppendString(f *testing.F) {
	for _, tc := range appendStringCases {
		f.Add(tc.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendString(t, s)
	})
}
