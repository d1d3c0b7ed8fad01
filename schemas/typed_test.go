package schemas_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

const typedSpec = `
name: typed
id: id
features:
  - {name: amount, type: float64}
  - {name: n, type: int64}
  - {name: small, type: int32, default: 7}
  - {name: ok, type: bool, default: 0}
  - {name: country, type: string, max_length: 4}
  - {name: device, type: string, default_string: web}
  - {name: emb, type: float32, length: 3}
model:
  outputs: [{name: score}]
`

// typedRow is one decoded row's typed columns, as text.
func typedRows(t *testing.T, values ...string) ([]string, []schemas.DecodeError, []float32) {
	t.Helper()
	spec, err := schemas.Parse([]byte(typedSpec))
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Typed() || spec.Columns() != 4 {
		t.Fatalf("Typed %v, Columns %d; want true, 4 (strings and arrays are not matrix columns)", spec.Typed(), spec.Columns())
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := make([]schemas.Message, len(values))
	for i, v := range values {
		msgs[i] = schemas.Message{Value: []byte(v), Offset: int64(i)}
	}
	d := schemas.NewDecoder(spec, mem)
	out := d.Decode(msgs)
	defer out.Release()
	var rows []string
	for r := range int(out.Record.NumRows()) {
		var parts []string
		for _, f := range spec.Features {
			col := out.Record.Column(spec.FeatureColumn(f.Name))
			if got := out.Record.Schema().Field(spec.FeatureColumn(f.Name)); got.Name != schemas.ColFeaturePrefix+f.Name || !arrow.TypeEqual(got.Type, f.ArrowType()) {
				t.Fatalf("column %s has type %s, want %s", got.Name, got.Type, f.ArrowType())
			}
			switch c := col.(type) {
			case *array.FixedSizeList:
				vals := c.ListValues().(*array.Float32).Float32Values()
				parts = append(parts, fmt.Sprint(vals[r*3:(r+1)*3]))
			default:
				parts = append(parts, c.ValueStr(r))
			}
		}
		rows = append(rows, strings.Join(parts, " "))
	}
	return rows, out.Errors, append([]float32(nil), out.Features()...)
}

func TestTypedDecode(t *testing.T) {
	rows, errs, matrix := typedRows(t,
		`{"id":1,"amount":0.1,"n":9007199254740993,"small":-5,"ok":true,"country":"DE","device":"ios","emb":[1,2.5,-3]}`,
		`{"id":2,"amount":2,"n":1,"country":"US","emb":[0,0,1e-3]}`,
	)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		"0.1 9007199254740993 -5 true DE ios [1 2.5 -3]",
		"2 1 7 false US web [0 0 0.001]",
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d: got %q, want %q", i, rows[i], want[i])
		}
	}
	// The matrix holds the numbers only: amount, n, small, ok.
	wantM := []float32{0.1, 9007199254740993, -5, 1, 2, 1, 7, 0}
	for i := range wantM {
		if matrix[i] != wantM[i] {
			t.Fatalf("matrix %v, want %v", matrix, wantM)
		}
	}
}

func TestTypedDeadLetters(t *testing.T) {
	const good = `"id":1,"amount":1,"n":1,"country":"DE","emb":[1,2,3]`
	for _, tc := range []struct {
		name, event string
		reason      schemas.Reason
		field, msg  string
	}{
		{"number where a string is expected", `{` + good + `,"device":12}`, schemas.ReasonTypeMismatch, "device", "expected a string"},
		{"over-long string", `{"id":1,"amount":1,"n":1,"country":"DEUTSCHLAND","emb":[1,2,3]}`, schemas.ReasonTooLarge, "country", "max_length of 4"},
		{"short array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":[1,2]}`, schemas.ReasonTypeMismatch, "emb", "array of 3 float32 numbers, got 2"},
		{"long array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":[1,2,3,4]}`, schemas.ReasonTypeMismatch, "emb", "got 4"},
		{"string in an array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":[1,"2",3]}`, schemas.ReasonTypeMismatch, "emb", "array of 3"},
		{"number for an array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":1}`, schemas.ReasonTypeMismatch, "emb", "an array of 3 numbers"},
		{"yes for a bool", `{` + good + `,"ok":"yes"}`, schemas.ReasonTypeMismatch, "ok", "expected bool"},
		{"1 for a bool", `{` + good + `,"ok":1}`, schemas.ReasonTypeMismatch, "ok", "expected bool"},
		{"fraction for an int64", `{"id":1,"amount":1,"n":1.5,"country":"DE","emb":[1,2,3]}`, schemas.ReasonTypeMismatch, "n", "expected int64"},
		{"int32 overflow", `{` + good + `,"small":3000000000}`, schemas.ReasonTypeMismatch, "small", "expected int32"},
		{"a feature given twice", `{` + good + `,"amount":2}`, schemas.ReasonDuplicateField, "amount", "more than once"},
		{"string for a number", `{"id":1,"amount":"1","n":1,"country":"DE","emb":[1,2,3]}`, schemas.ReasonTypeMismatch, "amount", "expected float64"},
		{"NaN in an array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":[1,NaN,3]}`, schemas.ReasonNonFinite, "emb", "NaN"},
		{"missing string", `{"id":1,"amount":1,"n":1,"emb":[1,2,3]}`, schemas.ReasonMissingField, "country", "required"},
		{"null array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":null}`, schemas.ReasonMissingField, "emb", "required"},
		{"truncated array", `{"id":1,"amount":1,"n":1,"country":"DE","emb":[1,2`, schemas.ReasonInvalidJSON, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, errs, _ := typedRows(t, tc.event, `{`+good+`}`)
			if len(errs) != 1 || len(rows) != 1 {
				t.Fatalf("got %d rows and errors %v; want the good event as a row and one error", len(rows), errs)
			}
			e := errs[0]
			if e.Reason != tc.reason || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) || e.Index != 0 {
				t.Errorf("got %v (index %d), want %s on field %q saying %q", &e, e.Index, tc.reason, tc.field, tc.msg)
			}
		})
	}
}

func TestTypedNonFiniteDefault(t *testing.T) {
	spec, err := schemas.Parse([]byte(strings.Replace(typedSpec, "length: 3}", "length: 3, default: 0.5}\nlimits: {non_finite: default}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := schemas.NewDecoder(spec, mem).Decode([]schemas.Message{{Value: []byte(`{"id":1,"amount":1,"n":1,"country":"DE","emb":[1,Infinity,3]}`)}})
	defer out.Release()
	if len(out.Errors) > 0 {
		t.Fatal(out.Errors)
	}
	got := out.Record.Column(spec.FeatureColumn("emb")).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	for _, v := range got {
		if v != 0.5 || math.IsNaN(float64(v)) {
			t.Fatalf("emb %v, want the default 0.5 in every element", got)
		}
	}
}
