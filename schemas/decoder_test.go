package schemas_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// testSpec has every kind of field: id, key and event time read from the
// event, one feature of each type (f32 required, the others defaulted), and
// two passthrough fields.
const testSpec = `
name: payments
version: "1"
id: id
key: user
event_time: ts
features:
  - {name: f32}
  - {name: f64, type: float64, default: 1.5}
  - {name: i64, type: int64, default: -1}
  - {name: flag, type: bool, default: 0}
passthrough: [merchant, meta]
model: {input: x, outputs: [{name: score}]}
`

// msgTime is the Kafka timestamp of test messages.
var msgTime = time.UnixMilli(1732460000999)

func parseSpec(t testing.TB, yaml string) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// ev returns an event with id e1 and key u1 and the given further fields.
func ev(fields string) string {
	if fields == "" {
		return `{"id":"e1","user":"u1"}`
	}
	return `{"id":"e1","user":"u1",` + fields + `}`
}

// result is a decoded batch copied out of Arrow memory, so the record can be
// released (and the allocator checked) before the test looks at it.
type result struct {
	Rows      []int
	Errors    []schemas.DecodeError
	Defaulted int
	NumRows   int
	IDs       []string
	Keys      []string
	Times     []int64
	Matrix    []float32           // Features(), row-major
	Pass      []map[string]string // per row; an absent name is an Arrow null
	F         int
}

func (r result) features(row int) []float32 { return r.Matrix[row*r.F : (row+1)*r.F] }

// decodeMsgs decodes msgs with a checked allocator, copies the batch out,
// releases it and asserts that no Arrow memory is left.
func decodeMsgs(t testing.TB, spec *schemas.Spec, msgs []schemas.Message) result {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	d := schemas.NewDecoder(spec, mem)
	out := d.Decode(msgs)
	rec := out.Record
	r := result{
		Rows:      out.Rows,
		Errors:    out.Errors,
		Defaulted: out.Defaulted,
		NumRows:   int(rec.NumRows()),
		Matrix:    append([]float32(nil), out.Features()...),
		F:         len(spec.Features),
	}
	ids := rec.Column(0).(*array.String)
	keys := rec.Column(1).(*array.String)
	ts := rec.Column(2).(*array.Timestamp)
	for i := 0; i < r.NumRows; i++ {
		r.IDs = append(r.IDs, ids.Value(i))
		r.Keys = append(r.Keys, keys.Value(i))
		r.Times = append(r.Times, int64(ts.Value(i)))
		p := map[string]string{}
		for j, name := range spec.Passthrough {
			col := rec.Column(4 + j).(*array.String)
			if !col.IsNull(i) {
				p[name] = col.Value(i)
			}
		}
		r.Pass = append(r.Pass, p)
	}
	out.Release()
	mem.AssertSize(t, 0)
	if len(r.Rows)+len(r.Errors) != len(msgs) {
		t.Fatalf("%d rows + %d errors for %d messages", len(r.Rows), len(r.Errors), len(msgs))
	}
	if r.NumRows != len(r.Rows) || len(r.Matrix) != r.NumRows*r.F {
		t.Fatalf("record has %d rows and %d feature values; Rows has %d, F is %d", r.NumRows, len(r.Matrix), len(r.Rows), r.F)
	}
	return r
}

func decodeValues(t testing.TB, spec *schemas.Spec, values ...string) result {
	t.Helper()
	msgs := make([]schemas.Message, len(values))
	for i, v := range values {
		msgs[i] = schemas.Message{Topic: "events", Offset: int64(i), Prev: int64(i) - 1, Key: []byte("kafka-key"), Value: []byte(v), Time: msgTime}
	}
	return decodeMsgs(t, spec, msgs)
}

// decodeRow decodes one value that must become a row.
func decodeRow(t testing.TB, spec *schemas.Spec, value string) result {
	t.Helper()
	r := decodeValues(t, spec, value)
	if len(r.Errors) > 0 {
		t.Fatalf("decoding %s: %v", value, &r.Errors[0])
	}
	return r
}

// decodeErr decodes one value that must fail.
func decodeErr(t testing.TB, spec *schemas.Spec, value string) schemas.DecodeError {
	t.Helper()
	r := decodeValues(t, spec, value)
	if len(r.Errors) != 1 {
		t.Fatalf("decoding %q: got a row (features %v), want an error", value, r.Matrix)
	}
	return r.Errors[0]
}

func f64to32(v float64) float32 { return float32(v) }
func i64to32(v int64) float32   { return float32(float64(v)) }

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestArrowSchema(t *testing.T) {
	spec := parseSpec(t, testSpec)
	s := schemas.NewDecoder(spec, memory.NewGoAllocator()).Schema()
	want := []struct {
		name string
		typ  arrow.DataType
	}{
		{schemas.ColID, arrow.BinaryTypes.String},
		{schemas.ColKey, arrow.BinaryTypes.String},
		{schemas.ColEventTime, arrow.FixedWidthTypes.Timestamp_ms},
		{schemas.ColFeatures, arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32)},
		{"merchant", arrow.BinaryTypes.String},
		{"meta", arrow.BinaryTypes.String},
	}
	if got := s.NumFields(); got != len(want) {
		t.Fatalf("schema has %d fields, want %d: %v", got, len(want), s)
	}
	for i, w := range want {
		f := s.Field(i)
		if f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) {
			t.Errorf("field %d = %s %s, want %s %s", i, f.Name, f.Type, w.name, w.typ)
		}
	}
	if got, ok := s.Metadata().GetValue("streamscore.schema"); !ok || got != "payments/1" {
		t.Errorf("metadata streamscore.schema = %q, %v; want payments/1", got, ok)
	}
}

func TestDecodeFeatureTypes(t *testing.T) {
	spec := parseSpec(t, testSpec)
	tests := []struct {
		name      string
		value     string
		want      []float32
		defaulted int
	}{
		{"every type", ev(`"f32":0.25,"f64":-2.5,"i64":42,"flag":true`), []float32{0.25, -2.5, 42, 1}, 0},
		{"bool false", ev(`"f32":1,"f64":2,"i64":3,"flag":false`), []float32{1, 2, 3, 0}, 0},
		{"float32 rounds once", ev(`"f32":0.123456789,"f64":0,"i64":0,"flag":false`), []float32{0.123456789, 0, 0, 0}, 0},
		{"float64 is narrowed", ev(`"f32":0,"f64":0.1,"i64":0,"flag":false`), []float32{0, f64to32(0.1), 0, 0}, 0},
		{"exponents", ev(`"f32":1.5e-3,"f64":-2E+2,"i64":0,"flag":false`), []float32{1.5e-3, -200, 0, 0}, 0},
		{"float32 underflow is zero", ev(`"f32":1e-60,"f64":0,"i64":0,"flag":false`), []float32{0, 0, 0, 0}, 0},
		{"negative zero", ev(`"f32":-0,"f64":-0.0,"i64":-0,"flag":false`), []float32{f64to32(math.Copysign(0, -1)), f64to32(math.Copysign(0, -1)), 0, 0}, 0},
		{"int64 extremes", ev(`"f32":0,"f64":0,"i64":-9223372036854775808,"flag":false`), []float32{0, 0, i64to32(math.MinInt64), 0}, 0},
		{"int64 beyond float64 precision", ev(`"f32":0,"f64":0,"i64":9007199254740993,"flag":false`), []float32{0, 0, i64to32(9007199254740993), 0}, 0},
		{"absent take defaults", ev(`"f32":0.5`), []float32{0.5, 1.5, -1, 0}, 3},
		{"null takes defaults", ev(`"f32":0.5,"f64":null,"i64":null,"flag":null`), []float32{0.5, 1.5, -1, 0}, 3},
		{"some defaulted", ev(`"f32":0.5,"i64":7`), []float32{0.5, 1.5, 7, 0}, 2},
		{"whitespace everywhere", " \t\n{ \"id\" : \"e1\" ,\r\n\"user\":\"u1\", \"f32\" :\t2 , \"flag\" : true }\n ", []float32{2, 1.5, -1, 1}, 2},
		{"field order does not matter", `{"flag":true,"i64":5,"f64":4,"f32":3,"user":"u1","id":"e1"}`, []float32{3, 4, 5, 1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeRow(t, spec, tc.value)
			if got := r.features(0); !equalFloats(got, tc.want) {
				t.Errorf("features = %v, want %v", got, tc.want)
			}
			if r.Defaulted != tc.defaulted {
				t.Errorf("Defaulted = %d, want %d", r.Defaulted, tc.defaulted)
			}
		})
	}
}

func TestDecodeMissingField(t *testing.T) {
	spec := parseSpec(t, testSpec)
	tests := []struct {
		name  string
		value string
		field string
	}{
		{"required feature absent", ev(`"f64":1`), "f32"},
		{"required feature null", ev(`"f32":null`), "f32"},
		{"empty object", `{}`, "id"},
		{"id absent", `{"user":"u1","f32":1}`, "id"},
		{"key absent", `{"id":"e1","f32":1}`, "user"},
		{"id only in a nested object", `{"x":{"id":"e1"},"user":"u1","f32":1}`, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := decodeErr(t, spec, tc.value)
			if e.Reason != schemas.ReasonMissingField || e.Field != tc.field {
				t.Errorf("error = %v (reason %q, field %q), want missing_field %q", &e, e.Reason, e.Field, tc.field)
			}
		})
	}
}

// TestDecodeManyFeaturesMissing checks, with 20 features (f8, f17 and
// f19 defaulted), that a feature absent after a run of eight present ones
// is found: missing when required, its default otherwise.
func TestDecodeManyFeaturesMissing(t *testing.T) {
	var y strings.Builder
	y.WriteString("name: many\nversion: \"1\"\nid: id\nkey: user\nfeatures:\n")
	for i := range 20 {
		if i == 8 || i == 17 || i == 19 {
			fmt.Fprintf(&y, "  - {name: f%d, default: %d.5}\n", i, i)
		} else {
			fmt.Fprintf(&y, "  - {name: f%d}\n", i)
		}
	}
	y.WriteString("model: {input: x, outputs: [{name: score}]}\n")
	spec := parseSpec(t, y.String())
	event := func(skip ...int) string {
		var b strings.Builder
		b.WriteString(`{"id":"e1","user":"u1"`)
		for i := range 20 {
			if !slices.Contains(skip, i) {
				fmt.Fprintf(&b, `,"f%d":%d`, i, i)
			}
		}
		return b.String() + "}"
	}
	tests := []struct {
		name      string
		skip      []int
		field     string // the missing_field error's field, or "" when the row decodes
		defaulted int
	}{
		{"all present", nil, "", 0},
		{"defaults", []int{8, 17, 19}, "", 3},
		{"required after eight present", []int{9}, "f9", 0},
		{"required in the first eight", []int{3}, "f3", 0},
		{"required in the tail", []int{18}, "f18", 0},
		{"default then required", []int{8, 16}, "f16", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Twice, so that the second decode takes the compact path.
			r := decodeValues(t, spec, event(tc.skip...), event(tc.skip...))
			if tc.field != "" {
				if len(r.Errors) != 2 || r.Errors[1].Reason != schemas.ReasonMissingField || r.Errors[1].Field != tc.field {
					t.Fatalf("errors = %v, want missing_field %s twice", r.Errors, tc.field)
				}
				return
			}
			if len(r.Errors) != 0 || r.Defaulted != 2*tc.defaulted {
				t.Fatalf("errors %v, defaulted %d; want none and %d", r.Errors, r.Defaulted, 2*tc.defaulted)
			}
			for i, v := range r.features(1) {
				want := float32(i)
				if slices.Contains(tc.skip, i) {
					want = float32(i) + 0.5
				}
				if v != want {
					t.Errorf("f%d = %v, want %v", i, v, want)
				}
			}
		})
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	spec := parseSpec(t, testSpec)
	tests := []struct {
		name  string
		value string
	}{
		{"scalars", ev(`"a":1,"b":"x","c":true,"d":false,"e":null,"f32":3,"g":-1.5e10`)},
		{"nested object", ev(`"a":{"f32":99,"id":"inner","deep":{"x":[1,2,{"y":null}]}},"f32":3`)},
		{"nested array", ev(`"a":[[],[{}],[1,"two",[3,[4]]],{"f32":[9]}],"f32":3`)},
		{"empty containers", ev(`"a":{},"b":[],"c":"","f32":3`)},
		{"escaped strings", ev(`"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","f32":3`)},
		{"non-standard numbers", ev(`"a":NaN,"b":[Infinity,-Infinity],"f32":3`)},
		{"unicode field name", ev(`"café":1,"😀":[2],"f32":3`)},
		{"field named like a column", ev(`"event_id":"x","key":"y","features":[1],"f32":3`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeRow(t, spec, tc.value)
			if got, want := r.features(0), []float32{3, 1.5, -1, 0}; !equalFloats(got, want) {
				t.Errorf("features = %v, want %v", got, want)
			}
			if r.IDs[0] != "e1" || r.Keys[0] != "u1" {
				t.Errorf("id, key = %q, %q; want e1, u1", r.IDs[0], r.Keys[0])
			}
		})
	}
}

func TestDecodeID(t *testing.T) {
	spec := parseSpec(t, testSpec)
	tests := []struct {
		name  string
		id    string // JSON text of the id
		want  string
		field string // for an error: the field named
	}{
		{name: "string", id: `"evt-1"`, want: "evt-1"},
		{name: "empty string", id: `""`, want: ""},
		{name: "integer", id: `12345`, want: "12345"},
		{name: "negative integer", id: `-7`, want: "-7"},
		{name: "big integer kept as text", id: `123456789012345678901234567890`, want: "123456789012345678901234567890"},
		{name: "float kept as text", id: `1.5e3`, want: "1.5e3"},
		{name: "null", id: `null`, field: "id"},
		{name: "bool", id: `true`, field: "id"},
		{name: "object", id: `{"v":1}`, field: "id"},
		{name: "array", id: `["a"]`, field: "id"},
		{name: "NaN", id: `NaN`, field: "id"},
		{name: "negative infinity", id: `-Infinity`, field: "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := `{"id":` + tc.id + `,"user":"u1","f32":1}`
			if tc.field != "" {
				e := decodeErr(t, spec, value)
				if e.Reason != schemas.ReasonTypeMismatch || e.Field != tc.field {
					t.Errorf("error = %v, want type_mismatch on %q", &e, tc.field)
				}
				return
			}
			r := decodeRow(t, spec, value)
			if r.IDs[0] != tc.want {
				t.Errorf("id = %q, want %q", r.IDs[0], tc.want)
			}
		})
	}
}

func TestDecodeKey(t *testing.T) {
	fromEvent := parseSpec(t, testSpec)
	fromKafka := parseSpec(t, strings.Replace(testSpec, "key: user\n", "", 1))
	keyIsID := parseSpec(t, strings.Replace(testSpec, "key: user\n", "key: id\n", 1))
	tests := []struct {
		name     string
		spec     *schemas.Spec
		value    string
		kafkaKey []byte
		want     string
	}{
		{"from the event", fromEvent, ev(`"f32":1`), []byte("kafka-key"), "u1"},
		{"number from the event", fromEvent, `{"id":"e1","user":42,"f32":1}`, nil, "42"},
		{"escaped from the event", fromEvent, `{"id":"e1","user":"u\u00e9","f32":1}`, nil, "ué"},
		{"from the Kafka key", fromKafka, `{"id":"e1","user":"ignored","f32":1}`, []byte("kafka-key"), "kafka-key"},
		{"nil Kafka key", fromKafka, `{"id":"e1","f32":1}`, nil, ""},
		{"binary Kafka key kept as bytes", fromKafka, `{"id":"e1","f32":1}`, []byte{0, 0xff, 'k'}, "\x00\xffk"},
		{"same field as the id", keyIsID, `{"id":"e9","f32":1}`, []byte("kafka-key"), "e9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeMsgs(t, tc.spec, []schemas.Message{{Key: tc.kafkaKey, Value: []byte(tc.value), Time: msgTime}})
			if len(r.Errors) > 0 {
				t.Fatalf("decoding: %v", &r.Errors[0])
			}
			if r.Keys[0] != tc.want {
				t.Errorf("key = %q, want %q", r.Keys[0], tc.want)
			}
		})
	}
}

func TestDecodeEventTime(t *testing.T) {
	withTime := parseSpec(t, testSpec)
	withoutTime := parseSpec(t, strings.Replace(testSpec, "event_time: ts\n", "", 1))
	tests := []struct {
		name  string
		spec  *schemas.Spec
		ts    string // JSON text of the ts field; empty means absent
		want  int64
		field string // for an error: the field named
	}{
		{name: "RFC 3339 UTC", spec: withTime, ts: `"2024-11-24T15:33:20Z"`, want: 1732462400000},
		{name: "RFC 3339 with fraction and offset", spec: withTime, ts: `"2024-11-24T16:33:20.123456+01:00"`, want: 1732462400123},
		{name: "RFC 3339 escaped", spec: withTime, ts: `"2024-11-24T15:33:20\u005a"`, want: 1732462400000},
		{name: "epoch ms", spec: withTime, ts: `1732462400123`, want: 1732462400123},
		{name: "epoch ms with fraction", spec: withTime, ts: `1732462400123.9`, want: 1732462400123},
		{name: "epoch ms exponent", spec: withTime, ts: `1.5e3`, want: 1500},
		{name: "negative epoch ms", spec: withTime, ts: `-1000`, want: -1000},
		{name: "zero", spec: withTime, ts: `0`, want: 0},
		{name: "negative zero", spec: withTime, ts: `-0`, want: 0},
		{name: "15 digits", spec: withTime, ts: `999999999999999`, want: 999999999999999},
		{name: "16 digits", spec: withTime, ts: `1234567890123456`, want: 1234567890123456},
		{name: "19 digits, as float64 reads them", spec: withTime, ts: `1234567890123456789`, want: int64(float64(1234567890123456789))},
		{name: "integer then exponent", spec: withTime, ts: `17E2`, want: 1700},
		{name: "integer then fraction", spec: withTime, ts: `17.0`, want: 17},
		{name: "absent falls back to Kafka time", spec: withTime, ts: ``, want: msgTime.UnixMilli()},
		{name: "null falls back to Kafka time", spec: withTime, ts: `null`, want: msgTime.UnixMilli()},
		{name: "no event_time in spec uses Kafka time", spec: withoutTime, ts: `1`, want: msgTime.UnixMilli()},
		{name: "not RFC 3339", spec: withTime, ts: `"yesterday"`, field: "ts"},
		{name: "date only", spec: withTime, ts: `"2024-11-24"`, field: "ts"},
		{name: "bool", spec: withTime, ts: `true`, field: "ts"},
		{name: "object", spec: withTime, ts: `{"ms":1}`, field: "ts"},
		{name: "NaN", spec: withTime, ts: `NaN`, field: "ts"},
		{name: "negative infinity", spec: withTime, ts: `-Infinity`, field: "ts"},
		{name: "beyond int64 milliseconds", spec: withTime, ts: `1e300`, field: "ts"},
		{name: "just beyond int64", spec: withTime, ts: `9223372036854775808`, field: "ts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := ev(`"f32":1`)
			if tc.ts != "" {
				value = ev(`"f32":1,"ts":` + tc.ts)
			}
			if tc.field != "" {
				e := decodeErr(t, tc.spec, value)
				if e.Reason != schemas.ReasonTypeMismatch || e.Field != tc.field {
					t.Errorf("error = %v, want type_mismatch on %q", &e, tc.field)
				}
				return
			}
			r := decodeRow(t, tc.spec, value)
			if r.Times[0] != tc.want {
				t.Errorf("event_time = %d, want %d", r.Times[0], tc.want)
			}
		})
	}
}

func TestDecodePassthrough(t *testing.T) {
	spec := parseSpec(t, testSpec)
	tests := []struct {
		name  string
		value string
		want  map[string]string // absent: Arrow null
	}{
		{"string kept with its quotes", ev(`"f32":1,"merchant":"m-17"`), map[string]string{"merchant": `"m-17"`}},
		{"escapes kept verbatim", ev(`"f32":1,"merchant":"caf\u00e9\n"`), map[string]string{"merchant": `"caf\u00e9\n"`}},
		{"number", ev(`"f32":1,"merchant":-12.5e3`), map[string]string{"merchant": `-12.5e3`}},
		{"bool and null", ev(`"f32":1,"merchant":true,"meta":null`), map[string]string{"merchant": `true`, "meta": `null`}},
		{"nested with inner whitespace", ev(`"f32":1,"meta": {"a": [1, 2.5, {"b": null}], "c": "x"} `), map[string]string{"meta": `{"a": [1, 2.5, {"b": null}], "c": "x"}`}},
		{"both absent", ev(`"f32":1`), map[string]string{}},
		{"later duplicate wins", ev(`"f32":1,"merchant":"a","merchant":"b"`), map[string]string{"merchant": `"b"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeRow(t, spec, tc.value)
			got := r.Pass[0]
			if len(got) != len(tc.want) {
				t.Errorf("passthrough = %q, want %q", got, tc.want)
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("passthrough %s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

func TestDecodeEscapedStrings(t *testing.T) {
	spec := parseSpec(t, testSpec)
	literals := []struct {
		name string
		lit  string // a JSON string literal
	}{
		{"plain", `"plain"`},
		{"newline", `"a\nb"`},
		{"every short escape", `"\"\\\/\b\f\n\r\t"`},
		{"latin-1 escape", `"caf\u00e9"`},
		{"uppercase hex", `"caf\u00E9"`},
		{"NUL escape", `"a\u0000b"`},
		{"surrogate pair", `"\ud83d\ude00"`},
		{"surrogate pair uppercase", `"x\uD83D\uDE00y"`},
		{"lone high surrogate", `"\ud800"`},
		{"lone low surrogate", `"\udc00x"`},
		{"high surrogate then a letter", `"\ud800\u0041"`},
		{"high surrogate then a pair", `"\ud800\ud83d\ude00"`},
		{"raw UTF-8", `"café 😀"`},
		{"escape after raw UTF-8", `"é\té"`},
		{"long escaped", `"` + strings.Repeat(`ab\n`, 100) + `"`},
	}
	for _, tc := range literals {
		t.Run(tc.name, func(t *testing.T) {
			var want string
			if err := json.Unmarshal([]byte(tc.lit), &want); err != nil {
				t.Fatalf("test bug: encoding/json rejects %s: %v", tc.lit, err)
			}
			r := decodeRow(t, spec, `{"id":`+tc.lit+`,"user":`+tc.lit+`,"f32":1,"meta":`+tc.lit+`}`)
			if r.IDs[0] != want {
				t.Errorf("id = %q, want %q", r.IDs[0], want)
			}
			if r.Keys[0] != want {
				t.Errorf("key = %q, want %q", r.Keys[0], want)
			}
			if got := r.Pass[0]["meta"]; got != tc.lit {
				t.Errorf("passthrough = %q, want it verbatim %q", got, tc.lit)
			}
		})
	}
	t.Run("escaped field names", func(t *testing.T) {
		r := decodeRow(t, spec, `{"\u0069d":"e1","us\u0065r":"u1","f\u0033\u0032":7,"\u0066lag":true}`)
		if got, want := r.features(0), []float32{7, 1.5, -1, 1}; !equalFloats(got, want) {
			t.Errorf("features = %v, want %v", got, want)
		}
		if r.IDs[0] != "e1" || r.Keys[0] != "u1" {
			t.Errorf("id, key = %q, %q; want e1, u1", r.IDs[0], r.Keys[0])
		}
	})
}

func TestDecodeReasons(t *testing.T) {
	const (
		invalid   = schemas.ReasonInvalidJSON
		mismatch  = schemas.ReasonTypeMismatch
		nonFinite = schemas.ReasonNonFinite
		tooLarge  = schemas.ReasonTooLarge
		duplicate = schemas.ReasonDuplicateField
	)
	pad := strings.Repeat("x", 40)
	tests := []struct {
		name   string
		limits string // YAML appended to testSpec
		value  string
		reason schemas.Reason
		field  string // checked when set
	}{
		// invalid_json: truncated
		{name: "empty", value: ``, reason: invalid},
		{name: "whitespace only", value: " \n\t", reason: invalid},
		{name: "open brace only", value: `{`, reason: invalid},
		{name: "truncated in a key", value: `{"id`, reason: invalid},
		{name: "truncated after a colon", value: `{"id":`, reason: invalid},
		{name: "truncated in a number", value: `{"id":"e1","user":"u1","f32":0.`, reason: invalid},
		{name: "truncated before the closing brace", value: `{"id":"e1","user":"u1","f32":1`, reason: invalid},
		{name: "truncated in an escape", value: `{"id":"e\`, reason: invalid},
		{name: "truncated unicode escape", value: `{"id":"\u00`, reason: invalid},
		{name: "truncated surrogate pair", value: `{"id":"\ud83d\ude`, reason: invalid},
		{name: "truncated in a nested value", value: `{"id":"e1","x":[1,{"a":`, reason: invalid},
		{name: "truncated literal", value: `{"id":"e1","user":"u1","f32":1,"x":tr`, reason: invalid},
		// invalid_json: trailing data
		{name: "trailing garbage", value: ev(`"f32":1`) + "x", reason: invalid},
		{name: "trailing comma after the object", value: ev(`"f32":1`) + ",", reason: invalid},
		{name: "two objects", value: ev(`"f32":1`) + ev(`"f32":1`), reason: invalid},
		{name: "trailing NUL", value: ev(`"f32":1`) + "\x00", reason: invalid},
		// schema_mismatch: valid JSON, but not an object
		{name: "array", value: `[{"id":"e1"}]`, reason: schemas.ReasonSchemaMismatch},
		{name: "string", value: `"event"`, reason: schemas.ReasonSchemaMismatch},
		{name: "number", value: `42`, reason: schemas.ReasonSchemaMismatch},
		{name: "null", value: ` null `, reason: schemas.ReasonSchemaMismatch},
		// invalid_json: not an object and not JSON
		{name: "truncated array", value: `[{"id":"e1"}`, reason: invalid},
		{name: "array then garbage", value: `[1] x`, reason: invalid},
		{name: "byte order mark", value: "\xef\xbb\xbf" + ev(`"f32":1`), reason: invalid},
		// invalid_json: bad literals
		{name: "bad true", value: ev(`"f32":1,"flag":tru`), reason: invalid},
		{name: "bad false", value: ev(`"f32":1,"flag":fals`), reason: invalid},
		{name: "bad null in a feature", value: ev(`"f32":nil`), reason: invalid},
		{name: "bad null in an unknown field", value: ev(`"f32":1,"x":nul`), reason: invalid},
		{name: "capitalised literal", value: ev(`"f32":1,"x":True`), reason: invalid},
		{name: "undefined", value: ev(`"f32":1,"x":undefined`), reason: invalid},
		// invalid_json: bad numbers
		{name: "trailing dot", value: ev(`"f32":1.`), reason: invalid},
		{name: "lone minus", value: ev(`"f32":-`), reason: invalid},
		{name: "leading zero", value: ev(`"f32":01`), reason: invalid},
		{name: "leading dot", value: ev(`"f32":.5`), reason: invalid},
		{name: "leading plus", value: ev(`"f32":+1`), reason: invalid},
		{name: "empty exponent", value: ev(`"f32":1e`), reason: invalid},
		{name: "signed empty exponent", value: ev(`"f32":1e+`), reason: invalid},
		{name: "hex", value: ev(`"f32":0x10`), reason: invalid},
		{name: "double minus in an unknown field", value: ev(`"f32":1,"x":--1`), reason: invalid},
		{name: "negative NaN", value: ev(`"f32":-NaN`), reason: invalid},
		{name: "Inf abbreviation", value: ev(`"f32":Inf`), reason: invalid},
		{name: "lowercase nan", value: ev(`"f32":nan`), reason: invalid},
		{name: "bad number as id", value: `{"id":1.e5,"user":"u1","f32":1}`, reason: invalid},
		// invalid_json: structure
		{name: "missing colon", value: `{"id" "e1"}`, reason: invalid},
		{name: "missing comma", value: `{"id":"e1" "user":"u1"}`, reason: invalid},
		{name: "trailing comma in the object", value: ev(`"f32":1,`), reason: invalid},
		{name: "leading comma in the object", value: `{,"id":"e1"}`, reason: invalid},
		{name: "trailing comma in an array", value: ev(`"f32":1,"x":[1,]`), reason: invalid},
		{name: "unclosed array", value: ev(`"f32":1,"x":[1`), reason: invalid},
		{name: "mismatched brackets", value: ev(`"f32":1,"x":{"a":1]`), reason: invalid},
		{name: "colon in an array", value: ev(`"f32":1,"x":["a":1]`), reason: invalid},
		{name: "single quotes", value: `{'id':'e1'}`, reason: invalid},
		{name: "unquoted key", value: `{id:"e1"}`, reason: invalid},
		{name: "non-string key in a nested object", value: ev(`"f32":1,"x":{1:2}`), reason: invalid},
		{name: "comment", value: ev(`"f32":1 /* c */`), reason: invalid},
		// invalid_json: strings
		{name: "raw tab in a string", value: "{\"id\":\"a\tb\"}", reason: invalid},
		{name: "raw newline in an escaped string", value: "{\"id\":\"\\n\n\"}", reason: invalid},
		{name: "invalid escape", value: `{"id":"a\qb"}`, reason: invalid},
		{name: "invalid hex escape", value: `{"id":"\u00zz"}`, reason: invalid},
		{name: "invalid hex in the low surrogate", value: `{"id":"\ud83d\uzzzz"}`, reason: invalid},
		{name: "invalid escape in an unknown key", value: ev(`"f32":1,"\x":1`), reason: invalid},
		{name: "unterminated key", value: `{"id":"e1","user`, reason: invalid},
		{name: "no value for the id", value: `{"id":}`, reason: invalid},
		{name: "no value for the key", value: `{"id":"e1","user":,"f32":1}`, reason: invalid},
		{name: "truncated after the event time", value: `{"id":"e1","user":"u1","f32":1,"ts":`, reason: invalid},
		{name: "bad literal as the id", value: `{"id":nul,"user":"u1","f32":1}`, reason: invalid},
		{name: "invalid JSON in a mismatched event time", value: ev(`"f32":1,"ts":{"a":}`), reason: invalid},
		{name: "unterminated event time", value: `{"id":"e1","user":"u1","f32":1,"ts":"2024-11`, reason: invalid},
		{name: "bad number as the event time", value: ev(`"f32":1,"ts":17.`), reason: invalid},
		{name: "leading zero in the event time", value: ev(`"f32":1,"ts":017`), reason: invalid},
		{name: "minus alone as the event time", value: ev(`"f32":1,"ts":-}`), reason: invalid},
		{name: "bad literal where float32", value: ev(`"f32":tru`), reason: invalid},
		{name: "bad literal where int64", value: ev(`"f32":1,"i64":fal`), reason: invalid},
		{name: "missing colon in a nested object", value: ev(`"f32":1,"x":{"a" 1}`), reason: invalid},
		// type_mismatch
		{name: "string where float32", value: ev(`"f32":"1.5"`), reason: mismatch, field: "f32"},
		{name: "string where float64", value: ev(`"f32":1,"f64":"2"`), reason: mismatch, field: "f64"},
		{name: "float where int64", value: ev(`"f32":1,"i64":1.5`), reason: mismatch, field: "i64"},
		{name: "integral float where int64", value: ev(`"f32":1,"i64":2.0`), reason: mismatch, field: "i64"},
		{name: "exponent where int64", value: ev(`"f32":1,"i64":1e3`), reason: mismatch, field: "i64"},
		{name: "int64 overflow", value: ev(`"f32":1,"i64":9223372036854775808`), reason: mismatch, field: "i64"},
		{name: "number where bool", value: ev(`"f32":1,"flag":1`), reason: mismatch, field: "flag"},
		{name: "string where bool", value: ev(`"f32":1,"flag":"true"`), reason: mismatch, field: "flag"},
		{name: "NaN where bool", value: ev(`"f32":1,"flag":NaN`), reason: mismatch, field: "flag"},
		{name: "true where float32", value: ev(`"f32":true`), reason: mismatch, field: "f32"},
		{name: "false where int64", value: ev(`"f32":1,"i64":false`), reason: mismatch, field: "i64"},
		{name: "object where float32", value: ev(`"f32":{"v":1}`), reason: mismatch, field: "f32"},
		{name: "array where float64", value: ev(`"f32":1,"f64":[1]`), reason: mismatch, field: "f64"},
		{name: "invalid JSON inside a mismatched value", value: ev(`"f32":[1,]`), reason: invalid},
		{name: "key as an array", value: `{"id":"e1","user":[1],"f32":1}`, reason: mismatch, field: "user"},
		{name: "key null", value: `{"id":"e1","user":null,"f32":1}`, reason: mismatch, field: "user"},
		// non_finite
		{name: "NaN as float32", value: ev(`"f32":NaN`), reason: nonFinite, field: "f32"},
		{name: "Infinity as float32", value: ev(`"f32":Infinity`), reason: nonFinite, field: "f32"},
		{name: "-Infinity as float32", value: ev(`"f32":-Infinity`), reason: nonFinite, field: "f32"},
		{name: "1e999 as float32", value: ev(`"f32":1e999`), reason: nonFinite, field: "f32"},
		{name: "-1e999 as float32", value: ev(`"f32":-1e999`), reason: nonFinite, field: "f32"},
		{name: "beyond float32 range", value: ev(`"f32":3.5e38`), reason: nonFinite, field: "f32"},
		{name: "beyond float32 range as float64", value: ev(`"f32":1,"f64":1e300`), reason: nonFinite, field: "f64"},
		{name: "NaN as float64", value: ev(`"f32":1,"f64":NaN`), reason: nonFinite, field: "f64"},
		{name: "Infinity as int64", value: ev(`"f32":1,"i64":Infinity`), reason: nonFinite, field: "i64"},
		{name: "policy default without a default", limits: "limits: {non_finite: default}\n", value: ev(`"f32":NaN`), reason: nonFinite, field: "f32"},
		{name: "NaN in a passthrough field", value: ev(`"f32":1,"meta":NaN`), reason: nonFinite, field: "meta"},
		{name: "Infinity nested in a passthrough field", value: ev(`"f32":1,"meta":{"a":[1,-Infinity]}`), reason: nonFinite, field: "meta"},
		// too_large
		{name: "message bytes", limits: "limits: {max_message_bytes: 64}\n", value: ev(`"f32":1,"pad":"` + pad + `"`), reason: tooLarge},
		{name: "field count", limits: "limits: {max_fields: 4}\n", value: ev(`"f32":1,"a":1,"b":2`), reason: tooLarge},
		{name: "duplicate fields count", limits: "limits: {max_fields: 4}\n", value: ev(`"f32":1,"f32":1,"f32":1`), reason: tooLarge},
		{name: "id length", limits: "limits: {max_string_bytes: 8}\n", value: `{"id":"123456789","user":"u1","f32":1}`, reason: tooLarge},
		{name: "unknown string length", limits: "limits: {max_string_bytes: 8}\n", value: ev(`"f32":1,"x":"123456789"`), reason: tooLarge},
		{name: "escaped string length", limits: "limits: {max_string_bytes: 8}\n", value: ev(`"f32":1,"x":"\u00e9\u00e9\u00e9\u00e9\u00e9"`), reason: tooLarge},
		{name: "field name length", limits: "limits: {max_string_bytes: 8}\n", value: ev(`"f32":1,"abcdefghi":1`), reason: tooLarge},
		{name: "nested key length", limits: "limits: {max_string_bytes: 8}\n", value: ev(`"f32":1,"x":{"abcdefghi":1}`), reason: tooLarge},
		{name: "array depth", limits: "limits: {max_depth: 3}\n", value: ev(`"f32":1,"x":[[[1]]]`), reason: tooLarge},
		{name: "object depth", limits: "limits: {max_depth: 3}\n", value: ev(`"f32":1,"x":{"a":{"b":{}}}`), reason: tooLarge},
		{name: "passthrough depth", limits: "limits: {max_depth: 3}\n", value: ev(`"f32":1,"meta":[[[]]]`), reason: tooLarge},
		{name: "depth in a mismatched feature", limits: "limits: {max_depth: 2}\n", value: ev(`"f32":[[1]]`), reason: tooLarge},
		// duplicate_field
		{name: "feature twice", value: ev(`"f32":1,"f32":2`), reason: duplicate, field: "f32"},
		{name: "feature twice, second null", value: ev(`"f32":1,"f32":null`), reason: duplicate, field: "f32"},
		{name: "feature twice, first null", value: ev(`"f32":null,"f32":1`), reason: duplicate, field: "f32"},
		{name: "feature twice with the same value", value: ev(`"f32":1,"f64":2,"f64":2`), reason: duplicate, field: "f64"},
		{name: "feature twice, second of the wrong type", value: ev(`"f32":1,"f32":"x"`), reason: duplicate, field: "f32"},
		{name: "NaN then a number", limits: "limits: {non_finite: default}\n", value: ev(`"f32":1,"f64":NaN,"f64":3`), reason: duplicate, field: "f64"},
		{name: "id twice", value: `{"id":"e1","user":"u1","id":"e2","f32":1}`, reason: duplicate, field: "id"},
		{name: "key twice", value: `{"id":"e1","user":"u1","f32":1,"user":"u2"}`, reason: duplicate, field: "user"},
		{name: "event time twice", value: ev(`"f32":1,"ts":1,"ts":2`), reason: duplicate, field: "ts"},
		{name: "event time twice, first null", value: ev(`"f32":1,"ts":null,"ts":2`), reason: duplicate, field: "ts"},
		{name: "escaped name of a feature", value: ev(`"f32":1,"f\u0033\u0032":2`), reason: duplicate, field: "f32"},
		{name: "first duplicate is named", value: ev(`"f32":1,"i64":1,"i64":2,"f32":2`), reason: duplicate, field: "i64"},
		{name: "invalid JSON after a duplicate", value: ev(`"f32":1,"f32":2,"x":tru`), reason: invalid},
		{name: "duplicate then a missing required feature", value: `{"id":"e1","id":"e1","user":"u1"}`, reason: duplicate, field: "id"},
		{name: "deep nesting at the default limit", value: ev(`"f32":1,"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40)), reason: tooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := parseSpec(t, testSpec+tc.limits)
			e := decodeErr(t, spec, tc.value)
			if e.Reason != tc.reason {
				t.Errorf("reason = %q (%v), want %q", e.Reason, &e, tc.reason)
			}
			if tc.field != "" && e.Field != tc.field {
				t.Errorf("field = %q (%v), want %q", e.Field, &e, tc.field)
			}
			if e.Msg == "" || !strings.HasPrefix(e.Error(), string(e.Reason)+": ") {
				t.Errorf("Error() = %q, want the reason and a message", e.Error())
			}
		})
	}
}

// TestDecodeLimitsBoundary checks that a value exactly at each limit decodes.
func TestDecodeLimitsBoundary(t *testing.T) {
	exact := ev(`"f32":1,"pad":"`)
	exact += strings.Repeat("x", 64-len(exact)-2) + `"}`
	tests := []struct {
		name   string
		limits string
		value  string
	}{
		{"message bytes", "limits: {max_message_bytes: 64}\n", exact},
		{"field count", "limits: {max_fields: 4}\n", ev(`"f32":1,"a":1`)},
		{"string length", "limits: {max_string_bytes: 8}\n", `{"id":"12345678","user":"u1","f32":1,"x":"\u00e9\u00e9\u00e9\u00e9"}`},
		{"depth", "limits: {max_depth: 3}\n", ev(`"f32":1,"x":[{"a":1}],"meta":{"b":[]}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decodeRow(t, parseSpec(t, testSpec+tc.limits), tc.value)
		})
	}
	if len(exact) != 64 {
		t.Fatalf("test bug: exact is %d bytes", len(exact))
	}
}

func TestDecodeNonFiniteDefault(t *testing.T) {
	spec := parseSpec(t, testSpec+"limits: {non_finite: default}\n")
	tests := []struct {
		name      string
		value     string
		want      []float32
		defaulted int
	}{
		{"NaN", ev(`"f32":1,"f64":NaN,"i64":2,"flag":true`), []float32{1, 1.5, 2, 1}, 1},
		{"Infinity", ev(`"f32":1,"f64":Infinity,"i64":2,"flag":true`), []float32{1, 1.5, 2, 1}, 1},
		{"-Infinity into int64", ev(`"f32":1,"f64":2,"i64":-Infinity,"flag":true`), []float32{1, 2, -1, 1}, 1},
		{"1e999", ev(`"f32":1,"f64":1e999,"i64":2,"flag":true`), []float32{1, 1.5, 2, 1}, 1},
		{"beyond float32 range", ev(`"f32":1,"f64":1e300,"i64":2,"flag":true`), []float32{1, 1.5, 2, 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeRow(t, spec, tc.value)
			if got := r.features(0); !equalFloats(got, tc.want) {
				t.Errorf("features = %v, want %v", got, tc.want)
			}
			if r.Defaulted != tc.defaulted {
				t.Errorf("Defaulted = %d, want %d", r.Defaulted, tc.defaulted)
			}
		})
	}
}

func TestDecodeBatchIsolatesBadRows(t *testing.T) {
	spec := parseSpec(t, testSpec)
	values := []string{
		`{"id":"a","user":"u1","f32":1,"f64":2,"i64":3,"flag":true,"merchant":"m1"}`,
		`{"id":"b","user":"u2","f32":`, // truncated
		`{"id":"c","user":"u3","f32":4}`,
		`{"id":"d","user":"u4","f64":1}`, // f32 missing
		`{"id":"e","user":"u5","f32":"x"}`,
		`{"id":"f","user":"u6","f32":5,"f64":6,"i64":7,"flag":false,"meta":[1]}`,
		`{"id":"g","user":"u7","f32":NaN}`,
	}
	r := decodeValues(t, spec, values...)

	wantRows := []int{0, 2, 5}
	if len(r.Rows) != len(wantRows) {
		t.Fatalf("Rows = %v, want %v", r.Rows, wantRows)
	}
	for i, w := range wantRows {
		if r.Rows[i] != w {
			t.Errorf("Rows[%d] = %d, want %d", i, r.Rows[i], w)
		}
	}
	if got, want := strings.Join(r.IDs, ","), "a,c,f"; got != want {
		t.Errorf("ids = %s, want %s", got, want)
	}
	if got, want := strings.Join(r.Keys, ","), "u1,u3,u6"; got != want {
		t.Errorf("keys = %s, want %s", got, want)
	}
	wantMatrix := []float32{
		1, 2, 3, 1,
		4, 1.5, -1, 0,
		5, 6, 7, 0,
	}
	if !equalFloats(r.Matrix, wantMatrix) {
		t.Errorf("Features() = %v, want %v", r.Matrix, wantMatrix)
	}
	if r.Defaulted != 3 {
		t.Errorf("Defaulted = %d, want 3 (row c only)", r.Defaulted)
	}
	if r.Pass[0]["merchant"] != `"m1"` || r.Pass[1]["merchant"] != "" || r.Pass[2]["meta"] != `[1]` {
		t.Errorf("passthrough = %v, want merchant on a and meta on f only", r.Pass)
	}
	for i, tm := range r.Times {
		if tm != msgTime.UnixMilli() {
			t.Errorf("event_time[%d] = %d, want the Kafka time %d", i, tm, msgTime.UnixMilli())
		}
	}

	wantErrs := []struct {
		index  int
		reason schemas.Reason
		field  string
	}{
		{1, schemas.ReasonInvalidJSON, ""},
		{3, schemas.ReasonMissingField, "f32"},
		{4, schemas.ReasonTypeMismatch, "f32"},
		{6, schemas.ReasonNonFinite, "f32"},
	}
	if len(r.Errors) != len(wantErrs) {
		t.Fatalf("Errors = %v, want %d", r.Errors, len(wantErrs))
	}
	for i, w := range wantErrs {
		e := r.Errors[i]
		if e.Index != w.index || e.Reason != w.reason || e.Field != w.field {
			t.Errorf("Errors[%d] = {%d %s %q}, want {%d %s %q}", i, e.Index, e.Reason, e.Field, w.index, w.reason, w.field)
		}
	}
}

func TestDecodeEmptyBatch(t *testing.T) {
	spec := parseSpec(t, testSpec)
	for _, tc := range []struct {
		name string
		msgs []schemas.Message
	}{
		{"nil", nil},
		{"empty", []schemas.Message{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeMsgs(t, spec, tc.msgs)
			if r.NumRows != 0 || len(r.Errors) != 0 || len(r.Matrix) != 0 {
				t.Errorf("got %d rows, %d errors, %d features; want none", r.NumRows, len(r.Errors), len(r.Matrix))
			}
		})
	}
}

// TestDecoderReuse decodes several batches with one decoder: nothing of one
// row or batch may leak into the next.
func TestDecoderReuse(t *testing.T) {
	spec := parseSpec(t, testSpec)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := schemas.NewDecoder(spec, mem)
	batches := []struct {
		name  string
		value string
		want  []float32
	}{
		{"full", ev(`"f32":1,"f64":2,"i64":3,"flag":true,"meta":{"a":"\u00e9"}`), []float32{1, 2, 3, 1}},
		{"defaults", ev(`"f32":4`), []float32{4, 1.5, -1, 0}},
		{"error", ev(`"f32":4,"f64":NaN`), nil},
		{"again", `{"id":"e2","user":"u2","f32":5}`, []float32{5, 1.5, -1, 0}},
	}
	for _, tc := range batches {
		t.Run(tc.name, func(t *testing.T) {
			out := d.Decode([]schemas.Message{{Value: []byte(tc.value)}, {Value: []byte(tc.value)}})
			defer out.Release()
			if tc.want == nil {
				if len(out.Errors) != 2 {
					t.Fatalf("Errors = %v, want 2", out.Errors)
				}
				return
			}
			if len(out.Errors) != 0 {
				t.Fatalf("Errors = %v", out.Errors)
			}
			got := out.Features()
			if !equalFloats(got[:4], tc.want) || !equalFloats(got[4:], tc.want) {
				t.Errorf("features = %v, want %v twice", got, tc.want)
			}
			meta := out.Record.Column(5).(*array.String)
			if tc.name != "full" && !meta.IsNull(0) {
				t.Errorf("meta = %q, want null", meta.Value(0))
			}
		})
	}
}

func TestDecodedReleaseTwice(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := schemas.NewDecoder(parseSpec(t, testSpec), mem).Decode([]schemas.Message{{Value: []byte(ev(`"f32":1`))}})
	out.Release()
	out.Release()
	if out.Record != nil {
		t.Errorf("Record = %v after Release, want nil", out.Record)
	}
}

// TestDecodeFastNumbersExact decodes each number as f32 and f64 of an event
// whose field order the decoder has already seen (so the inline number
// reader of the compact fast path reads it) and alone (the general path),
// and checks that both give strconv.ParseFloat's value, or the same
// dead-letter reason.
func TestDecodeFastNumbersExact(t *testing.T) {
	spec := parseSpec(t, testSpec)
	numbers := []string{
		"0", "-0", "7", "-7", "0.5", "-0.1234", "12.5", "1234567", "1234567.1234567",
		"0.1234567", "0.12345678", "0.123456789", "-0.123456789012345", "0.1234567890123456",
		"1234567.123456789012", "1234567.1234567890123", "12345678.5", "12345678",
		"0.0000001", "0.000000000000001", "16777217", "16777216.5", "9007199254740993",
		"16777219", "-16777217", "33554434", "33554435", "268435472", "1.5000001", "0.33554434e8",
		// float64 rounds these to a float32 midpoint they are not: float32
		// rounding of the float64 would be wrong.
		"1.90711909532547", "9.600070476531982", "-62.36801338195801",
		"0.30000001192092896", "3.4028235", "1.17549435", "0.1e1", "1.5e3", "1.5E-3", "2e-7",
		"01.5", "1.", "-", "-.5", ".5", "1.e5", "0x10", "1.5ee", "--1", "1.2.3", "00", "-01",
		// The one-word reader (at most six digits and a point) and the
		// longer fractions read from the next word, at their edges.
		"-0.01234", "0.000001", "123456", "-123456", "123456.5", "12345.67", "1234567.5", "0.1234567",
		"-0.12345678", "9.9999999", "1.00000001", "0.0000000", "-0.0", "1.2345678e-5", "0.1234567e1",
		"0.123456E1", "12.345678901234", "0.12345678901234", "-1.2345678901234", "0.123456789012345",
		"0.0000001234567", "999999.9999999", "16777215.5", "0.16777217", "1.6777217", "-3.4028235",
		"1.5.", "0.1234567.", "1.-5", "0.1234567-", "00.5", "-00", "1e", "1.5e", "0.12345678e",
	}
	// Long: each number has 17 bytes or more after it, so the inline reader
	// reads it; end: f32's number ends the event, so the reader finds fewer
	// bytes than it would read and must leave a long number to decimalAt.
	layouts := []struct{ name, warm, event string }{
		{"long", `{"id":"w","user":"u","f32":1.5,"f64":2.5,"merchant":"m-0000000000000000"}`,
			`{"id":"e1","user":"u1","f32":%[1]s,"f64":%[1]s,"merchant":"m-0000000000000000"}`},
		{"end", `{"id":"w","user":"u","f64":2.5,"f32":1.5}`, `{"id":"e1","user":"u1","f64":%[1]s,"f32":%[1]s}`},
	}
	for _, num := range numbers {
		for _, lay := range layouts {
			t.Run(lay.name+"/"+num, func(t *testing.T) {
				checkFastNumber(t, spec, lay.warm, fmt.Sprintf(lay.event, num), num)
			})
		}
	}
}

// TestDecodeFastNumberTruncated decodes events cut off right after a long
// number (no closing brace), whose field order the decoder has seen: the
// compact path must read no byte past the event, and the event is
// invalid_json, as on the general path.
func TestDecodeFastNumberTruncated(t *testing.T) {
	spec := parseSpec(t, testSpec)
	warm := `{"id":"w","user":"u","f64":2.5,"f32":1.5}`
	for _, num := range []string{
		"0.12345678901234", "-0.12345678901234", "0.1234567890123", "0.123456789012345",
		"0.1234567", "1234567.12345678", "-0.01234", "12.5", "0.123456789",
	} {
		t.Run(num, func(t *testing.T) {
			value := `{"id":"e1","user":"u1","f64":2.5,"f32":` + num
			fast := decodeValues(t, spec, warm, value)
			cold := decodeValues(t, spec, value)
			if len(fast.Errors) != 1 || len(cold.Errors) != 1 {
				t.Fatalf("errors: fast %v, cold %v; want one each", fast.Errors, cold.Errors)
			}
			if fast.Errors[0].Reason != schemas.ReasonInvalidJSON || cold.Errors[0].Reason != schemas.ReasonInvalidJSON {
				t.Errorf("reasons: fast %s, cold %s; want invalid_json", fast.Errors[0].Reason, cold.Errors[0].Reason)
			}
		})
	}
}

// checkFastNumber decodes value (whose f32 and f64 are num) after warm,
// twice, and alone, and compares the features or errors with strconv's.
func checkFastNumber(t *testing.T, spec *schemas.Spec, warm, value, num string) {
	t.Helper()
	fast := decodeValues(t, spec, warm, value, value)
	cold := decodeValues(t, spec, value)
	want32, err32 := strconv.ParseFloat(num, 32)
	want64, err64 := strconv.ParseFloat(num, 64)
	if !json.Valid([]byte(num)) || err32 != nil || err64 != nil {
		if len(cold.Errors) != 1 || len(fast.Errors) != 2 {
			t.Fatalf("an invalid number decoded: cold %d errors, fast %d", len(cold.Errors), len(fast.Errors))
		}
		for _, e := range fast.Errors {
			if e.Reason != cold.Errors[0].Reason || e.Field != cold.Errors[0].Field {
				t.Errorf("fast path: %s %s; general path: %s %s", e.Reason, e.Field, cold.Errors[0].Reason, cold.Errors[0].Field)
			}
		}
		return
	}
	if len(fast.Errors) != 0 || len(cold.Errors) != 0 {
		t.Fatalf("a valid number failed: fast %v, cold %v", fast.Errors, cold.Errors)
	}
	want := []float32{float32(want32), float32(want64)}
	for row := 1; row < 3; row++ {
		if got := fast.features(row)[:2]; !equalFloats(got, want) {
			t.Errorf("fast path row %d: %v, want %v", row, got, want)
		}
	}
	if got := cold.features(0)[:2]; !equalFloats(got, want) {
		t.Errorf("general path: %v, want %v", got, want)
	}
}
