package schemas_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// setStringSpec has a feature set holding a string between two numbers.
const setStringSpec = `
name: s
id: id
key: user
features:
  - {name: amount}
  - {name: country, type: string}
feature_sets:
  - name: profile
    layout: hash
    key: "p:{user}"
    features:
      - {name: age, default: 30}
      - {name: segment, type: string, default_string: none}
      - {name: tenure, default: 2}
model: {outputs: [{name: score}]}
`

func TestSetStringFeaturesHaveTheirOwnColumns(t *testing.T) {
	spec := parseSpec(t, setStringSpec)
	fs := &spec.FeatureSets[0]
	if spec.Columns() != 3 || fs.Offset != 1 || fs.MatrixWidth() != 2 || !slices.Equal(spec.FeatureNames(), []string{"amount", "age", "tenure"}) {
		t.Fatalf("matrix %v (%d columns), set offset %d: want amount, age, tenure; the string is not in the matrix", spec.FeatureNames(), spec.Columns(), fs.Offset)
	}
	seg := spec.FeatureColumn("segment")
	if seg != spec.FeatureColumn("country")+1 || spec.Arrow().Field(seg).Name != schemas.ColFeaturePrefix+"segment" {
		t.Fatalf("segment column %d (country %d): want it right after the event features' columns", seg, spec.FeatureColumn("country"))
	}
	if _, f := spec.SetFeature("segment"); f == nil || f.InMatrix() {
		t.Fatalf("SetFeature(segment) = %+v", f)
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := schemas.NewDecoder(spec, mem).Decode([]schemas.Message{
		{Value: []byte(`{"id":"a","user":"u1","amount":1.5,"country":"de"}`)},
		{Value: []byte(`{"id":"b","user":"u2","amount":2.5,"country":"fr"}`)},
	})
	defer d.Release()
	if len(d.Errors) > 0 {
		t.Fatal(d.Errors[0])
	}
	if x := d.Features(); !slices.Equal(x, []float32{1.5, 30, 2, 2.5, 30, 2}) {
		t.Fatalf("matrix %v: want the set's numeric defaults after amount", x)
	}
	col := func() *array.String { return d.Record.Column(seg).(*array.String) }
	if col().Value(0) != "none" || col().Value(1) != "none" {
		t.Fatalf("segment before enrichment %q, %q: want the default", col().Value(0), col().Value(1))
	}
	keys := d.Record.Column(1)
	if err := d.SetStrings(schemas.ColFeaturePrefix+"segment", []string{"gold", "silver"}); err != nil {
		t.Fatal(err)
	}
	if col().Value(0) != "gold" || col().Value(1) != "silver" || d.Record.Column(1) != keys {
		t.Fatalf("segment after SetStrings %q, %q (other columns shared: %v)", col().Value(0), col().Value(1), d.Record.Column(1) == keys)
	}
	for _, tc := range []struct {
		name string
		vals []string
		want string
	}{
		{schemas.ColFeaturePrefix + "age", []string{"x", "y"}, "no such string column"},
		{schemas.ColFeaturePrefix + "segment", []string{"x"}, "1 values for 2 rows"},
	} {
		if err := d.SetStrings(tc.name, tc.vals); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetStrings(%s) = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSetStringFeatureRefusals(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"vector layout", "layout: hash", "layout: vector", "needs layout: hash"},
		{"single input", "  - {name: country, type: string}\nfeature_sets:\n", "feature_sets:\n", "features[1].type: a string feature needs typed inputs"},
		{"other type", "type: string, default_string: none", "type: int64", `"int64" is not float32 or string`},
		{"numeric default", "default_string: none", "default: 3", "a string feature's default is default_string"},
		{"string default on a number", "{name: age, default: 30}", "{name: age, default_string: x}", "only string features take one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(setStringSpec, tc.from, tc.to, 1)
			if tc.name == "single input" {
				y = strings.Replace(y, "model: {outputs", "model: {input: x, outputs", 1)
			}
			if y == setStringSpec {
				t.Fatalf("test setup: %q not in the spec", tc.from)
			}
			_, err := schemas.Parse([]byte(y))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
