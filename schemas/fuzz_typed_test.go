package schemas_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// fuzzTypedSpec feeds a model typed inputs: a float32, an int64, an int32
// and a bool with defaults, a short required string, a string with a
// default, and an array of three numbers. FuzzDecode decodes every input
// with it too, so the seeds with strings, ints, bools and arrays (over-long
// strings, wrong-length arrays) reach the typed decoder.
const fuzzTypedSpec = `
name: typed
version: "1"
id: id
key: user
features:
  - {name: amount}
  - {name: n, type: int64, default: 0}
  - {name: i32, type: int32, default: 0}
  - {name: ok, type: bool, default: 0}
  - {name: country, type: string, max_length: 8}
  - {name: device, type: string, default_string: web}
  - {name: emb, length: 3, default: 0}
model: {outputs: [{name: score}]}
limits: {max_message_bytes: 2048, max_fields: 16, max_string_bytes: 64, max_depth: 6}
`

var fuzzTypedNeighbour = []byte(`{"id":"n","user":"u","amount":1,"country":"de","emb":[1,2,3]}`)

// typedFuzzer decodes fuzz inputs with fuzzTypedSpec.
type typedFuzzer struct {
	spec *schemas.Spec
	mem  *memory.CheckedAllocator
	dec  *schemas.Decoder
}

func newTypedFuzzer(tb testing.TB) *typedFuzzer {
	spec := parseSpec(tb, fuzzTypedSpec)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	return &typedFuzzer{spec: spec, mem: mem, dec: schemas.NewDecoder(spec, mem)}
}

// check decodes value between two good events and checks what the typed
// decoder made of it: a dead letter with a known reason, or a row whose
// columns agree with encoding/json's reading of the value and obey the
// schema's limits.
func (f *typedFuzzer) check(t *testing.T, value []byte) {
	msgs := []schemas.Message{
		{Value: fuzzTypedNeighbour, Time: msgTime},
		{Value: value, Time: msgTime},
		{Value: fuzzTypedNeighbour, Time: msgTime},
	}
	out := f.dec.Decode(msgs)
	defer func() {
		out.Release()
		f.mem.AssertSize(t, 0)
	}()
	if len(out.Rows)+len(out.Errors) != len(msgs) || int(out.Record.NumRows()) != len(out.Rows) {
		t.Fatalf("typed: %d rows + %d errors for %d messages, record of %d rows", len(out.Rows), len(out.Errors), len(msgs), out.Record.NumRows())
	}
	if len(out.Rows) < 2 || out.Rows[0] != 0 || out.Rows[len(out.Rows)-1] != 2 {
		t.Fatalf("typed: Rows = %v, want the neighbours 0 and 2 decoded", out.Rows)
	}
	if len(out.Errors) == 1 {
		if e := out.Errors[0]; e.Index != 1 || !knownReasons[e.Reason] || e.Msg == "" {
			t.Fatalf("typed: error %+v has no known reason, index or message", e)
		}
		return
	}
	extended := bytes.Contains(value, []byte("NaN")) || bytes.Contains(value, []byte("Infinity"))
	if !json.Valid(value) && !extended {
		t.Fatalf("typed: decoder accepted %q, which is not valid JSON", value)
	}
	if extended {
		return
	}
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("typed: encoding/json cannot decode accepted %q: %v", value, err)
	}
	col := func(name string) int { return f.spec.FeatureColumn(name) }
	const row = 1
	rec := out.Record

	// Strings: exactly the JSON text, within max_length; the default when
	// absent or null.
	country := rec.Column(col("country")).(*array.String).Value(row)
	if v, ok := m["country"].(string); !ok || v != country || len(country) > 8 {
		t.Fatalf("typed: country column %q, JSON %#v: want the same string of at most 8 bytes", country, m["country"])
	}
	device := rec.Column(col("device")).(*array.String).Value(row)
	switch v := m["device"].(type) {
	case nil:
		if device != "web" {
			t.Fatalf("typed: absent device is %q, want the default web", device)
		}
	case string:
		if v != device || len(device) > schemas.DefaultMaxStringLength {
			t.Fatalf("typed: device column %q, JSON %q", device, v)
		}
	default:
		t.Fatalf("typed: device %#v (not a string) was accepted", v)
	}

	// A bool is true or false, never "yes" or 1.
	ok := rec.Column(col("ok")).(*array.Boolean).Value(row)
	switch v := m["ok"].(type) {
	case nil:
		if ok {
			t.Fatalf("typed: absent ok is true, want the default false")
		}
	case bool:
		if v != ok {
			t.Fatalf("typed: ok column %v, JSON %v", ok, v)
		}
	default:
		t.Fatalf("typed: ok %#v (not a bool) was accepted", v)
	}

	// Integers read exactly, within their type's range.
	for _, c := range []struct {
		name string
		bits int
	}{{"n", 64}, {"i32", 32}} {
		var got int64
		switch a := rec.Column(col(c.name)).(type) {
		case *array.Int64:
			got = a.Value(row)
		case *array.Int32:
			got = int64(a.Value(row))
		}
		switch v := m[c.name].(type) {
		case nil:
			if got != 0 {
				t.Fatalf("typed: absent %s is %d, want the default 0", c.name, got)
			}
		case json.Number:
			want, err := strconv.ParseInt(v.String(), 10, c.bits)
			if err != nil || want != got {
				t.Fatalf("typed: %s column %d, JSON %s (%v)", c.name, got, v, err)
			}
		default:
			t.Fatalf("typed: %s %#v (not an integer) was accepted", c.name, v)
		}
	}

	// An array has exactly three numbers.
	emb := rec.Column(col("emb")).(*array.FixedSizeList)
	vals := emb.ListValues().(*array.Float32).Float32Values()[row*3 : row*3+3]
	switch v := m["emb"].(type) {
	case nil:
		for _, x := range vals {
			if x != 0 {
				t.Fatalf("typed: absent emb is %v, want the default zeros", vals)
			}
		}
	case []any:
		if len(v) != 3 {
			t.Fatalf("typed: emb of %d values was accepted, want exactly 3", len(v))
		}
		for k, e := range v {
			n, isNum := e.(json.Number)
			want, err := strconv.ParseFloat(string(n), 32)
			if !isNum || err != nil || float32(want) != vals[k] {
				t.Fatalf("typed: emb[%d] column %v, JSON %#v", k, vals[k], e)
			}
		}
	default:
		t.Fatalf("typed: emb %#v (not an array) was accepted", v)
	}

	amount := rec.Column(col("amount")).(*array.Float32).Value(row)
	n, isNum := m["amount"].(json.Number)
	want, err := strconv.ParseFloat(string(n), 32)
	if !isNum || err != nil || float32(want) != amount || math.IsNaN(float64(amount)) {
		t.Fatalf("typed: amount column %v, JSON %#v", amount, m["amount"])
	}
}
