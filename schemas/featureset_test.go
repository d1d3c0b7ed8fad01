package schemas_test

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

const setSpec = `
name: fs
id: id
key: user
passthrough: [merchant, region]
features:
  - {name: a}
feature_sets:
  - name: user_stats
    key: "user:{user}"
    features: [{name: spend, default: 1.5}, {name: count, default: 2}]
  - name: pair
    layout: hash
    version: 3
    key: "p:{user}:{merchant}:{region}"
    features: [{name: affinity}]
model: {input: x, outputs: [{name: y}]}
`

func TestFeatureSetSpec(t *testing.T) {
	s, err := schemas.Parse([]byte(setSpec))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Columns(); got != 4 {
		t.Fatalf("Columns() = %d, want 4", got)
	}
	if got := strings.Join(s.FeatureNames(), ","); got != "a,spend,count,affinity" {
		t.Fatalf("FeatureNames() = %s", got)
	}
	fs := s.FeatureSets
	if fs[0].Offset != 1 || fs[1].Offset != 3 || fs[0].Layout != schemas.LayoutVector || fs[0].Version != 1 || fs[1].Version != 3 {
		t.Fatalf("defaults/offsets: %+v", fs)
	}
	bad := []struct{ name, yaml, want string }{
		{"no field in key", `key: "user"`, "names no {field}"},
		{"unmatched brace", `key: "user:{user"`, "unmatched"},
		{"bad layout", "key: \"u:{user}\"\n    layout: list", "layout"},
		{"numeric key field", `key: "u:{a}"`, "numeric feature"},
		{"absent key field", `key: "u:{usr}"`, "feature_sets[0].key: {usr} is not a field of this schema (did you mean user?); a key template may name id, key, event_time or a passthrough field (id, user, merchant, region)"},
		{"absent key field, no near name", `key: "u:{country}"`, "feature_sets[0].key: {country} is not a field of this schema; a key template may name id, key, event_time or a passthrough field (id, user, merchant, region)"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(setSpec, `key: "user:{user}"`, tc.yaml, 1)
			_, err := schemas.Parse([]byte(y))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "feature_sets[0]") {
				t.Fatalf("Parse = %v, want an error naming feature_sets[0] and %q", err, tc.want)
			}
		})
	}
}

func TestDecodeFeatureSetKeys(t *testing.T) {
	s, err := schemas.Parse([]byte(setSpec))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := []schemas.Message{
		{Value: []byte(`{"id":"1","user":"u\u00e9","merchant":"m1","region":7,"a":3}`)},
		{Value: []byte(`{"id":"2","user":"u2","merchant":"m2","a":4}`)}, // no region
		{Value: []byte(`{"id":"3","user":42,"merchant":"m\"3","region":"eu","a":5}`)},
	}
	d := schemas.NewDecoder(s, mem).Decode(msgs)
	defer d.Release()
	if len(d.Errors) != 1 || d.Errors[0].Index != 1 || d.Errors[0].Reason != schemas.ReasonMissingField || d.Errors[0].Field != "region" {
		t.Fatalf("errors = %+v, want message 1 missing_field region", d.Errors)
	}
	wantKeys := [][]string{{"user:ué", "user:42"}, {"p:ué:m1:7", `p:42:m"3:eu`}}
	for set, want := range wantKeys {
		col := d.SetKeys(set)
		for r, w := range want {
			if got := col.Value(r); got != w {
				t.Errorf("set %d row %d key %q, want %q", set, r, got, w)
			}
		}
	}
	f := d.Features()
	want := []float32{3, 1.5, 2, 0, 5, 1.5, 2, 0}
	for i := range want {
		if f[i] != want[i] {
			t.Fatalf("features = %v, want %v (defaults in set columns)", f, want)
		}
	}
	pass := d.Record.Column(4).(interface{ Value(int) string })
	if got := pass.Value(1); got != `"m\"3"` {
		t.Fatalf("passthrough merchant = %s, want the raw JSON", got)
	}
}

func TestKeyTemplateBraces(t *testing.T) {
	y := strings.Replace(setSpec, `key: "user:{user}"`, `key: "user:{{{user}}}:x{{y}}"`, 1)
	s, err := schemas.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	got := string(s.FeatureSets[0].AppendKey(nil, func(string) []byte { return []byte("u-17") }))
	if got != "user:{u-17}:x{y}" {
		t.Fatalf("key = %q, want user:{u-17}:x{y}", got)
	}
}

// TestDecodeFeatureSetKeyDuplicate checks that a feature-set key field given
// twice is a dead letter, even when it is also a passthrough field (whose
// duplicates otherwise take the last value).
func TestDecodeFeatureSetKeyDuplicate(t *testing.T) {
	s, err := schemas.Parse([]byte(setSpec))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := []schemas.Message{
		{Value: []byte(`{"id":"1","user":"u1","merchant":"m1","region":7,"region":8,"a":3}`)},
		{Value: []byte(`{"id":"2","user":"u2","merchant":"m1","merchant":"m2","region":7,"a":3}`)},
		{Value: []byte(`{"id":"3","user":"u3","merchant":"m1","region":7,"a":3}`)},
	}
	d := schemas.NewDecoder(s, mem).Decode(msgs)
	defer d.Release()
	want := []string{"region", "merchant"}
	if len(d.Errors) != len(want) || len(d.Rows) != 1 || d.Rows[0] != 2 {
		t.Fatalf("errors = %+v, rows = %v; want two dead letters and row 2", d.Errors, d.Rows)
	}
	for i, e := range d.Errors {
		if e.Index != i || e.Reason != schemas.ReasonDuplicateField || e.Field != want[i] {
			t.Errorf("error %d = %+v, want duplicate_field %s", i, e, want[i])
		}
	}
}
