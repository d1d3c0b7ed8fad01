package features

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func testSet(t *testing.T, layout string, maxAge time.Duration) *set {
	t.Helper()
	fs := &schemas.FeatureSet{Name: "s", Version: 2, Key: "u:{user}", Layout: layout, MaxAge: maxAge,
		Features: []schemas.SetFeature{{Name: "a", Default: 0.5}, {Name: "b", Default: -1}}}
	return newSet(fs, 0)
}

func TestDecodeVector(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	st := testSet(t, schemas.LayoutVector, time.Hour)
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		v     any
		st    status
		nmiss int
		vals  []float32
	}{
		{"absent", nil, statusAbsent, 0, []float32{0.5, -1}},
		{"ok", string(AppendVector(nil, 2, now.Add(-time.Minute), []float32{3, 4})), statusOK, 0, []float32{3, 4}},
		{"other version", string(AppendVector(nil, 1, now, []float32{3, 4})), statusVersion, 0, []float32{0.5, -1}},
		{"other count", string(AppendVector(nil, 2, now, []float32{3, 4, 5})), statusVersion, 0, []float32{0.5, -1}},
		{"stale", string(AppendVector(nil, 2, now.Add(-2*time.Hour), []float32{3, 4})), statusStale, 0, []float32{0.5, -1}},
		{"malformed", "hello", statusMalformed, 0, []float32{0.5, -1}},
		{"non-finite value", string(AppendVector(nil, 2, now, []float32{nan, 4})), statusPartial, 1, []float32{0.5, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := slices.Clone(st.defaults)
			fd := st.decodeVector(tc.v, now, dst)
			if fd.st != tc.st || fd.nmiss != tc.nmiss || !slices.Equal(dst, tc.vals) {
				t.Fatalf("got %s nmiss %d %v, want %s nmiss %d %v", fd.st.reason(), fd.nmiss, dst, tc.st.reason(), tc.nmiss, tc.vals)
			}
		})
	}
}

func TestDecodeHash(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := func(d time.Duration) string { return formatMs(now.Add(-d)) }
	cases := []struct {
		name   string
		maxAge time.Duration
		v      []any // a, b, _ts, _v
		st     status
		nmiss  int
		vals   []float32
	}{
		{"absent", 0, []any{nil, nil, nil, nil}, statusAbsent, 0, []float32{0.5, -1}},
		{"ok without _ts and _v", 0, []any{"1.25", "2", nil, nil}, statusOK, 0, []float32{1.25, 2}},
		{"ok", time.Hour, []any{"1", "2", ms(time.Minute), "2"}, statusOK, 0, []float32{1, 2}},
		{"other version", 0, []any{"1", "2", nil, "3"}, statusVersion, 0, []float32{0.5, -1}},
		{"stale", time.Hour, []any{"1", "2", ms(2 * time.Hour), nil}, statusStale, 0, []float32{0.5, -1}},
		{"max_age without _ts", time.Hour, []any{"1", "2", nil, nil}, statusStale, 0, []float32{0.5, -1}},
		{"a field absent", 0, []any{nil, "2", nil, nil}, statusPartial, 1, []float32{0.5, 2}},
		{"a field not a number", 0, []any{"x", "2", nil, nil}, statusPartial, 1, []float32{0.5, 2}},
		{"a field NaN", 0, []any{"NaN", "2", nil, nil}, statusPartial, 1, []float32{0.5, 2}},
		{"bad _v", 0, []any{"1", "2", nil, "two"}, statusMalformed, 0, []float32{0.5, -1}},
		{"bad _ts", 0, []any{"1", "2", "yesterday", nil}, statusMalformed, 0, []float32{0.5, -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := testSet(t, schemas.LayoutHash, tc.maxAge)
			dst := slices.Clone(st.defaults)
			fd := st.decodeHash(tc.v, now, dst, nil)
			if fd.st != tc.st || fd.nmiss != tc.nmiss || !slices.Equal(dst, tc.vals) {
				t.Fatalf("got %s nmiss %d %v, want %s nmiss %d %v", fd.st.reason(), fd.nmiss, dst, tc.st.reason(), tc.nmiss, tc.vals)
			}
		})
	}
}
